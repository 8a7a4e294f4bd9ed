/** Suffix that makes a topic or channel ephemeral (no disk queue, deleted when unused). */
export const EPHEMERAL_SUFFIX = '#ephemeral';

/** Longest valid topic or channel name in bytes, the `#ephemeral` suffix included. */
export const MAX_NAME_LENGTH = 64;

const NAME_RE = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/;

/** Whether `name` is a valid NSQ topic name (same rule as channels: 1..64 chars of [.a-zA-Z0-9_-], optional #ephemeral). */
export function isValidTopicName(name: string): boolean {
  return isValidName(name);
}

/** Whether `name` is a valid NSQ channel name. */
export function isValidChannelName(name: string): boolean {
  return isValidName(name);
}

function isValidName(name: string): boolean {
  if (name.length > MAX_NAME_LENGTH || name.length < 1) return false;
  return NAME_RE.test(name);
}

/** Whether a topic or channel name ends with `#ephemeral`. */
export function isEphemeral(name: string): boolean {
  return name.endsWith(EPHEMERAL_SUFFIX);
}
