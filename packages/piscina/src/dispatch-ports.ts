/**
 * A `ManagedPool` gives a task's proxies a connection (a spare port) only when the thread
 * Piscina hands the task to has none yet, decided when Piscina picks that thread (its load
 * balancer), not when `run()` is called: a burst of tasks submitted before any pool thread has
 * reported a connection would otherwise make a port per task (10,000 tasks: 10,000 ports, the
 * first task starting only once all were made).
 *
 * Piscina's balancer sees a task's id, not its value. A task meets its dispatch while `run()`
 * hands it to Piscina (`submit`): synchronously, Piscina either offers it to the balancer or
 * puts it in the task queue, where it carries its dispatch on Piscina's own task record; the
 * balancer then gets it as the task the queue just gave, or (one Piscina kept aside) by id.
 */
import type { TransferListItem } from '@managers/proxy';
import { FixedQueue } from 'piscina';
import type { Loan } from '@managers/core';
import type { PiscinaOptions } from './pool';

type LoadBalancer = NonNullable<PiscinaOptions['loadBalancer']>;
type TaskQueue = NonNullable<PiscinaOptions['taskQueue']>;
type QueuedTask = Parameters<TaskQueue['push']>[0];

/** A task on its way to a pool thread: its loan, and the transfer list Piscina will post. */
export interface Dispatch {
  readonly loan: Loan;
  readonly transferList: TransferListItem[];
  /** Piscina's id of the task, once known (-1 before). */
  taskId: number;
  /** The threads this task was given a port for, with the manager's id (see `unposted`). */
  sentTo?: { readonly managerId: string; readonly thread: number }[];
}

/**
 * Piscina's default balancer (`LeastBusyBalancer`, which piscina does not export): a thread
 * running nothing, else the least busy one under `maximumUsage` for a task that cannot be
 * aborted (an abortable task needs a thread of its own).
 */
function leastBusy(maximumUsage: number): LoadBalancer {
  return (task, workers) => {
    let candidate: (typeof workers)[number] | null = null;
    let checkpoint = maximumUsage;
    for (const worker of workers) {
      if (worker.currentUsage === 0) return worker;
      if (worker.isRunningAbortableTask) continue;
      if (!task.isAbortable && worker.currentUsage < checkpoint) {
        candidate = worker;
        checkpoint = worker.currentUsage;
      }
    }
    return candidate;
  };
}

/** Where a queued task (Piscina's TaskInfo, as the task queue sees it) keeps its dispatch. */
const dispatchSymbol = Symbol('@managers/piscina/dispatch');

/** A task as the task queue holds it (Piscina's TaskInfo). */
type HeldTask = QueuedTask & { readonly taskId?: unknown; [dispatchSymbol]?: Dispatch };

/** The per-pool part: wraps the pool's load balancer and task queue (see the top of the file). */
export class DispatchPorts {
  /** The task `run()` is handing to Piscina right now. */
  #submitting: Dispatch | undefined;
  /** The task the queue gave Piscina last: the one Piscina offers the balancer next. */
  #shifted: HeldTask | null = null;
  /**
   * Tasks Piscina keeps aside from the queue (an abortable task no thread could take: its
   * `skipQueue`), by task id. The others stay in the queue, carrying their dispatch.
   */
  readonly #aside = new Map<number, Dispatch>();
  /**
   * The threads whose tasks reported a connection, per manager id (the pool's record, shared:
   * set once the pool exists).
   */
  threadsByManager = new Map<string, Set<number>>();
  /**
   * The threads sent a port and not yet reported, per manager id. With one task per thread at a
   * time, such a thread has made its connection before it reads its next task (the port's task
   * borrows first), so it needs no other port. With several at once it may not have: a task
   * whose export is not loaded yet waits for the import while a later one starts (Piscina's
   * worker awaits each task's handler), so each of its tasks gets a port until one reports.
   */
  readonly #sentPort = new Map<string, Set<number>>();
  /** `concurrentTasksPerWorker` is 1 (see `#sentPort`). */
  #oneTaskAtATime = true;
  /** The dispatch `addPorts` is adding ports to (its `sentTo` records them), and its thread. */
  #adding: Dispatch | undefined;
  #thread = -1;
  /** True when `#thread` needs a port for `managerId` (from then on it counts as sent one). */
  readonly #needsPort = (managerId: string): boolean => {
    const thread = this.#thread;
    if (this.threadsByManager.get(managerId)?.has(thread) === true) return false;
    let sent = this.#sentPort.get(managerId);
    if (this.#oneTaskAtATime && sent?.has(thread) === true) return false;
    if (sent === undefined) this.#sentPort.set(managerId, (sent = new Set()));
    sent.add(thread);
    (this.#adding!.sentTo ??= []).push({ managerId, thread });
    return true;
  };

  /** The pool's options with this pool's balancer and task queue around the given ones. */
  wrap(options: PiscinaOptions): PiscinaOptions {
    this.#oneTaskAtATime = (options.concurrentTasksPerWorker ?? 1) <= 1;
    const balancer = options.loadBalancer ?? leastBusy(options.concurrentTasksPerWorker ?? 1);
    const queue = options.taskQueue ?? new FixedQueue();
    return { ...options, loadBalancer: this.#balancer(balancer), taskQueue: this.#queue(queue) };
  }

  /** Runs `run(value, options)` (Piscina's `run()` of `dispatch`'s task). */
  submit<V, O, T>(dispatch: Dispatch, run: (value: V, options: O) => T, value: V, options: O): T {
    this.#submitting = dispatch;
    try {
      return run(value, options);
    } finally {
      this.#submitting = undefined;
    }
  }

  /** The task settled (or was never posted): forget it. */
  settled(dispatch: Dispatch): void {
    if (this.#aside.size !== 0) this.#aside.delete(dispatch.taskId);
    if (this.#shifted?.[dispatchSymbol] === dispatch) this.#shifted = null;
  }

  /**
   * The task failed without reaching its thread (Piscina could not post it: a value structured
   * clone refuses): the threads it was given a port for did not get one.
   */
  unposted(dispatch: Dispatch): void {
    for (const { managerId, thread } of dispatch.sentTo ?? []) {
      this.#sentPort.get(managerId)?.delete(thread);
    }
  }

  /** Forgets the threads that are gone (`live`: the pool's threads now). */
  prune(live: ReadonlySet<number>): void {
    keepThreads(this.#sentPort, live);
  }

  /** The dispatch of the task Piscina offers the balancer (`taskId`), if it has one. */
  #dispatchOf(taskId: number): Dispatch | undefined {
    // Synchronously inside run(): this task (it was not queued).
    const submitting = this.#submitting;
    if (submitting !== undefined) {
      submitting.taskId = taskId;
      return submitting;
    }
    const shifted = this.#shifted;
    this.#shifted = null;
    if (shifted !== null && shifted.taskId === taskId) return shifted[dispatchSymbol];
    return this.#aside.size === 0 ? undefined : this.#aside.get(taskId);
  }

  #balancer(inner: LoadBalancer): LoadBalancer {
    return (task, workers) => {
      const candidate = inner(task, workers);
      const dispatch = this.#dispatchOf(task.taskId);
      if (dispatch === undefined) return candidate;
      // Piscina posts the task only to one of its own threads (a balancer may answer otherwise).
      if (candidate === null || !workers.includes(candidate)) {
        // Not posted now. Back in the queue, the task carries its dispatch (`#submitting`, left
        // set, reaches it in push or unshift); an abortable one goes aside, out of the queue's sight.
        if (task.isAbortable) this.#aside.set(task.taskId, dispatch);
        return candidate;
      }
      // Piscina posts the task to `candidate` now, with this transfer list.
      this.#submitting = undefined;
      if (this.#aside.size !== 0) this.#aside.delete(task.taskId);
      this.#adding = dispatch;
      this.#thread = candidate.id;
      try {
        const ports = dispatch.loan.addPorts(this.#needsPort);
        for (const port of ports) dispatch.transferList.push(port);
      } catch {
        // No port (the connection closed meanwhile): the thread fails the task with
        // ERR_NOT_CONNECTED, and the pool sends it again with one (runWith).
      } finally {
        this.#adding = undefined;
      }
      return candidate;
    };
  }

  /** A task Piscina puts (back) in the queue: the one `run()` hands over now takes its dispatch. */
  #held(task: QueuedTask): void {
    const submitting = this.#submitting;
    if (submitting === undefined) return;
    const held = task as HeldTask;
    if (typeof held.taskId === 'number') submitting.taskId = held.taskId;
    held[dispatchSymbol] = submitting;
    this.#submitting = undefined;
  }

  #queue(inner: TaskQueue): TaskQueue {
    const queue: TaskQueue = {
      get size() {
        return inner.size;
      },
      push: (task: QueuedTask) => {
        this.#held(task);
        inner.push(task);
      },
      shift: () => (this.#shifted = inner.shift() as HeldTask | null),
      remove: (task: QueuedTask) => inner.remove(task),
    };
    if (typeof inner.unshift === 'function') {
      queue.unshift = (task: QueuedTask) => {
        this.#held(task);
        inner.unshift!(task);
      };
    }
    return queue;
  }
}

/** Drops from `records` (thread ids per manager id) the threads not in `live`. */
export function keepThreads(records: Map<string, Set<number>>, live: ReadonlySet<number>): void {
  for (const [managerId, threads] of records) {
    for (const thread of threads) if (!live.has(thread)) threads.delete(thread);
    if (threads.size === 0) records.delete(managerId);
  }
}
