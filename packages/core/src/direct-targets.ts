/** What a connection knows of one place its thread posts proxies to (a Worker, a MessagePort). */
export interface DirectTarget {
  /** This connection's number for the place, sent with its handoffs there. */
  readonly tag: number;
  /** The serial of the server connection that reads what is posted there, once learned. */
  receiver: number | undefined;
}

/**
 * The places a thread posts proxies to, per connection, and which connection of the manager
 * reads what arrives there (learned from the server's `receiver {tag, serial}` notice after
 * a tagged handoff was taken up): a handoff to a known receiver needs no port (directed
 * handoff, server/directed.ts). Held weakly: a Worker or port that is gone is forgotten.
 */
export class DirectTargets {
  readonly #byPlace = new WeakMap<object, DirectTarget>();
  readonly #byTag = new Map<number, WeakRef<DirectTarget>>();
  readonly #forget = new FinalizationRegistry<number>((tag) => {
    if (this.#byTag.get(tag)?.deref() === undefined) this.#byTag.delete(tag);
  });
  #nextTag = 1;

  /** The record of `place`, made on first use. */
  of(place: object): DirectTarget {
    let target = this.#byPlace.get(place);
    if (target === undefined) {
      target = this.reserve();
      this.#byPlace.set(place, target);
    }
    return target;
  }

  /** A record for a place that does not exist yet (a Worker being made): {@link bind} it after. */
  reserve(): DirectTarget {
    const target: DirectTarget = { tag: this.#nextTag++, receiver: undefined };
    this.#byTag.set(target.tag, new WeakRef(target));
    this.#forget.register(target, target.tag);
    return target;
  }

  /** Makes `target` the record of `place`. */
  bind(place: object, target: DirectTarget): void {
    this.#byPlace.set(place, target);
  }

  /** The server's notice: what is posted to the place tagged `tag` is read by `serial` (0: not known). */
  learn(tag: unknown, serial: unknown): void {
    if (typeof tag !== 'number' || typeof serial !== 'number') return;
    const target = this.#byTag.get(tag)?.deref();
    if (target === undefined) return;
    target.receiver = Number.isSafeInteger(serial) && serial > 0 ? serial : undefined;
  }
}
