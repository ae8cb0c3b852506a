// Errors over HTTP: {error, code, hint} with the CLI's stable codes; the status comes from the one
// table in util/errors.ts that also gives the exit codes.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../guest/config.js';
import { toVsError, VsError } from '../util/errors.js';

export interface ErrorBody {
  error: string;
  code: string;
  hint?: string;
  /** For a config that does not validate: the dotted key and the line of the TOML text, when known. */
  key?: string;
  line?: number;
}

export function errorBody(e: VsError): ErrorBody {
  const where = e instanceof ConfigError ? e.where : {};
  return e.hint === undefined ? { error: e.message, code: e.code, ...where } : { error: e.message, code: e.code, hint: e.hint, ...where };
}

/** Fastify's own refusals (a body that is not JSON, too large, a bad schema) as our USAGE errors. */
function fromFastify(e: FastifyError): VsError | undefined {
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new VsError('USAGE', 'the request body is too large', 'send a smaller body');
  if (
    e.validation ||
    e.code?.startsWith('FST_ERR_CTP') ||
    e.code === 'FST_ERR_VALIDATION' ||
    e.statusCode === 400 ||
    e.statusCode === 415
  ) {
    return new VsError('USAGE', `bad request: ${e.message}`, 'see /1.0/openapi.json for what this route takes');
  }
  return undefined;
}

export function errorHandler(e: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const err = e instanceof VsError ? e : (fromFastify(e) ?? toVsError(e));
  void reply.status(err.httpStatus).send(errorBody(err));
}
