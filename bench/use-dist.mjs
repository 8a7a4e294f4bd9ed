// `node --import tsx --import ./bench/use-dist.mjs`: the bench measures the code that ships.
// Its files import the package's modules from src/ (so they type-check against the source);
// this answers every such import with tsc's output in dist/ instead of tsx's on-the-fly
// compile of src/, which runs some hot loops slower (FrameParser over the TypeScript scanner:
// 15-25% slower through tsx), so the TypeScript side of a ratio would be under-rated. Child
// processes inherit it through execArgv. package.json's bench scripts compile dist/ first.
import { register } from 'node:module';

register('./dist-resolve.mjs', import.meta.url);
