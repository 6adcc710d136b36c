import { createManagerError, ErrorCode } from '@managers/refcount';
import { toErrorEnvelope } from '../error-envelope';

/** The server's error messages, made in one place. */
export const ServerErrors = {
  unknownTypeid(typeid: string, known: readonly string[]) {
    return createManagerError(
      ErrorCode.UnknownTypeid,
      `unknown typeid '${typeid}' (registered: ${known.join(', ') || 'none'})`,
      { details: { typeid } },
    );
  },
  /** The id is not in the table, or the caller holds no reference to it (least authority: the same answer). */
  notHeld(id: number, method: string) {
    return createManagerError(
      ErrorCode.UnknownId,
      `cannot call '${method}' on id ${id}: this connection holds no reference to it (it was released, never created, or never handed to this thread)`,
      { details: { id, method } },
    );
  },
  notExposed(typeid: string, id: number, method: string, exposed: readonly string[]) {
    return createManagerError(
      ErrorCode.NotExposed,
      `method '${method}' of typeid '${typeid}' is not exposed (exposed: ${exposed.join(', ') || 'none'})`,
      { details: { typeid, id, method } },
    );
  },
  notAFunction(typeid: string, id: number, method: string, kind: string) {
    return createManagerError(
      ErrorCode.NotExposed,
      `'${method}' of typeid '${typeid}' is exposed but is not a function (it is ${kind})`,
      { details: { typeid, id, method } },
    );
  },
  reservedName(id: number, method: string) {
    return createManagerError(
      ErrorCode.NotExposed,
      `'${method}' is not a method: names starting with '#' are reserved`,
      { details: { id, method } },
    );
  },
  /** A reply that could not be posted (structured clone or the socket refused its value). */
  unsendable(rid: number, error: unknown, details: Record<string, unknown>) {
    return {
      rid,
      e: toErrorEnvelope(
        createManagerError(
          ErrorCode.Unserializable,
          `the result could not be sent: ${(error as Error).message}`,
          { cause: error },
        ),
        details,
      ),
    };
  },
};
