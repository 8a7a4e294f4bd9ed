// Module resolve hook for bench/use-dist.mjs: a relative import of src/<path>.js resolves to
// dist/<path>.js, and fails when dist/ lacks it (a bench half on src/, half on dist/ would
// measure neither).
import { existsSync } from 'node:fs';

const SRC = new URL('../src/', import.meta.url).href;
const DIST = new URL('../dist/', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (context.parentURL !== undefined && specifier.startsWith('.')) {
    const url = new URL(specifier, context.parentURL).href;
    if (url.startsWith(SRC) && url.endsWith('.js')) {
      const target = DIST + url.slice(SRC.length);
      if (!existsSync(new URL(target))) throw new Error(`${target} is missing: run \`npm run compile\` before the bench`);
      return { url: target, format: 'module', shortCircuit: true };
    }
  }
  return next(specifier, context);
}
