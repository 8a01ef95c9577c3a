/**
 * Files of the repository the worker image is built from: the Dockerfile's context is the repository
 * root (it compiles src/ and containers/worker/), and everything else is excluded so that synth copies
 * and hashes only these (Docker ignore syntax: exclude all, re-include the listed paths).
 */
export const WORKER_IMAGE_CONTEXT = ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'containers/worker'] as const;

/** The worker's Dockerfile, relative to the repository root. */
export const WORKER_DOCKERFILE = 'containers/worker/Dockerfile';
