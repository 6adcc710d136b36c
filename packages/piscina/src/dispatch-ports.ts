/**
 * A `ManagedPool` gives a task's proxies a connection (a spare port) only when the thread
 * Piscina hands the task to has none yet, decided when Piscina picks that thread (its load
 * balancer), not when `run()` is called: a burst of tasks submitted before any pool thread has
 * reported a connection would otherwise make a port per task (10,000 tasks: 10,000 ports, the
 * first task starting only once all were made).
 *
 * Piscina's balancer sees a task's `taskId`, not its value. A task is tied to its id while
 * `run()` hands it to Piscina: synchronously, Piscina either queues it (the task queue's
 * `push`) or offers it to the balancer; either sees the id first.
 */
import type { TransferListItem } from 'node:worker_threads';
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
  taskId?: number;
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

/** The per-pool part: wraps the pool's load balancer and task queue (see the top of the file). */
export class DispatchPorts {
  /** The task `run()` is handing to Piscina right now. */
  #submitting: Dispatch | undefined;
  /** Tasks Piscina holds (queued, or offered to a busy balancer), by task id. */
  readonly #byTaskId = new Map<number, Dispatch>();
  /**
   * The threads known to have a connection, per manager id: reported by their tasks, or sent
   * a port here (a thread reads its tasks in order, so the next one finds the connection made;
   * if not, that task fails with ERR_NOT_CONNECTED and is sent again with a port). Set once the
   * pool exists.
   */
  threadsByManager = new Map<string, Set<number>>();

  /** The pool's options with this pool's balancer and task queue around the given ones. */
  wrap(options: PiscinaOptions): PiscinaOptions {
    const balancer = options.loadBalancer ?? leastBusy(options.concurrentTasksPerWorker ?? 1);
    const queue = options.taskQueue ?? new FixedQueue();
    return { ...options, loadBalancer: this.#balancer(balancer), taskQueue: this.#queue(queue) };
  }

  /** Runs `run` (Piscina's `run()` of `dispatch`'s task). */
  submit<T>(dispatch: Dispatch, run: () => T): T {
    this.#submitting = dispatch;
    try {
      return run();
    } finally {
      this.#submitting = undefined;
    }
  }

  /** The task settled (or was never posted): forget it. */
  settled(dispatch: Dispatch): void {
    if (dispatch.taskId !== undefined) this.#byTaskId.delete(dispatch.taskId);
  }

  #find(taskId: number): Dispatch | undefined {
    const submitting = this.#submitting;
    if (submitting === undefined) return this.#byTaskId.get(taskId);
    this.#submitting = undefined;
    submitting.taskId = taskId;
    this.#byTaskId.set(taskId, submitting);
    return submitting;
  }

  #balancer(inner: LoadBalancer): LoadBalancer {
    return (task, workers) => {
      const candidate = inner(task, workers);
      const dispatch = this.#find(task.taskId);
      if (dispatch === undefined || candidate === null || typeof candidate.id !== 'number') {
        return candidate;
      }
      // Piscina posts the task to `candidate` now, with this transfer list.
      this.#byTaskId.delete(task.taskId);
      const thread = candidate.id;
      try {
        const ports = dispatch.loan.addPorts((managerId) => {
          let threads = this.threadsByManager.get(managerId);
          if (threads?.has(thread) === true) return false;
          if (threads === undefined) this.threadsByManager.set(managerId, (threads = new Set()));
          threads.add(thread);
          return true;
        });
        for (const port of ports) dispatch.transferList.push(port);
      } catch {
        // No port (the connection closed meanwhile): the thread fails the task with
        // ERR_NOT_CONNECTED, and the pool sends it again with one (runWith).
      }
      return candidate;
    };
  }

  #queue(inner: TaskQueue): TaskQueue {
    const queue: TaskQueue = {
      get size() {
        return inner.size;
      },
      push: (task: QueuedTask) => {
        const taskId = (task as { taskId?: unknown }).taskId;
        if (this.#submitting !== undefined && typeof taskId === 'number') this.#find(taskId);
        inner.push(task);
      },
      shift: () => inner.shift(),
      remove: (task: QueuedTask) => inner.remove(task),
    };
    if (typeof inner.unshift === 'function') {
      queue.unshift = (task: QueuedTask) => inner.unshift!(task);
    }
    return queue;
  }
}
