import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isProxy, type ServerReference } from '@managers/core';
import {
  createManagerError,
  ErrorCode,
  inspectSymbol,
  TRACE_CHANNEL_NAME,
  type DebugEntry,
  type InspectSnapshot,
  type TraceEvent,
} from '@managers/refcount';
import {
  matchesFilter,
  renderObjectDetail,
  renderPage,
  renderSections,
  renderTraceRows,
  TRACE_ROWS,
  type LinkMaker,
  type TraceFilter,
} from './html';
import { buildSnapshot, nextHandoffDeadline, SERVER, type InspectorSnapshot } from './model';
import {
  isLoopback,
  parseInspectorOptions,
  type InspectorOptions,
  type InspectorSettings,
} from './options';
import { TraceStore } from './store';

/** What the inspector needs of a manager: the one that started the server (it forwards the trace). */
export interface InspectedManager {
  readonly closed: boolean;
  readonly isOwner: boolean;
  entries(): Promise<DebugEntry[]>;
  references(): Promise<ServerReference[]>;
  trace(): Promise<TraceEvent[]>;
  forwardTrace(enabled?: boolean): void;
  [inspectSymbol](): Promise<InspectSnapshot>;
}

/** A running inspector. `await using inspector = await startInspector(manager)` closes it. */
export interface Inspector extends AsyncDisposable {
  /** The page's address, with the token when there is one: `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** What the page shows now. */
  snapshot(): InspectorSnapshot;
  /** Stops serving: ends the live streams, closes the HTTP server, stops forwarding the trace. */
  close(): Promise<void>;
}

const ASSETS = join(__dirname, '..', 'assets');
/** The least time between two reads of the table (trace events meanwhile are coalesced). */
const REFRESH_SPACING_MS = 50;
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * Serves a live page of `manager`'s objects, holders, object graph and trace from this thread
 * (`node:http`), updated by Server-Sent Events whenever a trace event arrives.
 *
 * ```ts
 * const inspector = await startInspector(manager, { port: 0 });
 * console.log(inspector.url); // http://127.0.0.1:PORT/
 * await inspector.close();
 * ```
 *
 * Listens on 127.0.0.1 by default; another address needs `allowRemote: true` and a token.
 * Rejects with `ERR_INVALID_OPTION` for bad options and `ERR_NOT_OWNER` for a manager made by
 * `connect()` (only the owner can forward the trace).
 */
export async function startInspector(
  manager: InspectedManager,
  options: InspectorOptions = {},
): Promise<Inspector> {
  const settings = parseInspectorOptions(options);
  if (isProxy(manager)) {
    // A proxy answers every property with a method: it would pass the check below.
    throw createManagerError(
      ErrorCode.InvalidOption,
      `startInspector() needs a started manager, got a proxy (${String(manager)}): pass the manager MyManager.start() returned`,
      { details: { option: 'manager' } },
    );
  }
  if (typeof manager?.entries !== 'function' || typeof manager.forwardTrace !== 'function') {
    throw createManagerError(
      ErrorCode.InvalidOption,
      'startInspector() needs a started manager (the one returned by MyManager.start())',
      { details: { option: 'manager' } },
    );
  }
  if (!manager.isOwner) {
    throw createManagerError(
      ErrorCode.NotOwner,
      'startInspector() needs the manager that started the server: a manager made by connect() cannot forward its trace',
    );
  }
  const inspector = new InspectorServer(manager, settings);
  await inspector.start();
  return inspector;
}

class InspectorServer implements Inspector {
  readonly #manager: InspectedManager;
  readonly #settings: InspectorSettings;
  readonly #store: TraceStore;
  readonly #server: Server;
  readonly #clients = new Set<ServerResponse>();
  readonly #assets = new Map<string, Buffer>();
  #name = '';
  #entries: DebugEntry[] = [];
  #references: ServerReference[] = [];
  #snapshot: InspectorSnapshot | undefined;
  /** Live events received before the first snapshot told the manager's name. */
  #early: TraceEvent[] | undefined = [];
  #refreshing = false;
  #dirty = false;
  #lastRefresh = 0;
  /** Set by a trace event of the `server` holder: the object graph must be read again. */
  #serverChanged = false;
  #closed = false;
  #handoffTimer: NodeJS.Timeout | undefined;
  #url = '';
  #port = 0;
  readonly #onEvent = (message: unknown) => this.#receive(message as TraceEvent);

  constructor(manager: InspectedManager, settings: InspectorSettings) {
    this.#manager = manager;
    this.#settings = settings;
    this.#store = new TraceStore(settings.traceLimit);
    this.#server = createServer((request, response) => this.#serve(request, response));
    for (const name of ['page.js', 'page.css'])
      this.#assets.set(name, readFileSync(join(ASSETS, name)));
  }

  get url(): string {
    return this.#url;
  }

  get port(): number {
    return this.#port;
  }

  snapshot(): InspectorSnapshot {
    return this.#snapshot!;
  }

  async start(): Promise<void> {
    diagnosticsChannel.subscribe(TRACE_CHANNEL_NAME, this.#onEvent);
    try {
      this.#manager.forwardTrace(true);
      const initial = await this.#manager[inspectSymbol]();
      this.#name = initial.name;
      for (const event of initial.trace) this.#store.add(event);
      const early = this.#early ?? [];
      this.#early = undefined;
      for (const event of early) this.#receive(event);
      this.#entries = [...initial.entries];
      this.#references = await this.#manager.references();
      this.#rebuild();
      await new Promise<void>((resolve, reject) => {
        this.#server.once('error', (error: Error) =>
          reject(
            createManagerError(
              ErrorCode.InvalidOption,
              `options.port ${this.#settings.port} on options.host '${this.#settings.host}' cannot be listened on: ${error.message}`,
              { cause: error, details: { option: 'port' } },
            ),
          ),
        );
        this.#server.listen(this.#settings.port, this.#settings.host, () => {
          this.#server.removeAllListeners('error');
          // A debugging aid must not crash the program it inspects.
          this.#server.on('error', () => undefined);
          resolve();
        });
      });
    } catch (error) {
      await this.close();
      throw error;
    }
    this.#port = (this.#server.address() as AddressInfo).port;
    const host = this.#settings.host.includes(':')
      ? `[${this.#settings.host}]`
      : this.#settings.host;
    this.#url = `http://${host}:${this.#port}/${this.#settings.token ? `?token=${this.#settings.token}` : ''}`;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#handoffTimer);
    diagnosticsChannel.unsubscribe(TRACE_CHANNEL_NAME, this.#onEvent);
    // Leave forwarding on for anyone else listening on the channel.
    if (!diagnosticsChannel.hasSubscribers(TRACE_CHANNEL_NAME) && !this.#manager.closed) {
      try {
        this.#manager.forwardTrace(false);
      } catch {
        // The manager closed meanwhile: nothing is forwarded any more.
      }
    }
    for (const client of this.#clients) client.end();
    this.#clients.clear();
    if (this.#server.listening) {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeAllConnections();
      await closed;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- the trace, and the state it drives

  #receive(event: TraceEvent): void {
    if (this.#closed) return;
    if (this.#early !== undefined) {
      this.#early.push(event);
      return;
    }
    if (event.table !== this.#name) return;
    const gap = event.seq > this.#store.lastSeq + 1;
    if (gap) void this.#backfill();
    if (!this.#store.add(event)) return;
    if (event.holder === SERVER) this.#serverChanged = true;
    this.#broadcast('trace', { rows: renderTraceRows([event], this.#link), events: [event] });
    this.#refresh();
  }

  /** Events forwarded out of order or lost while forwarding started: fetch the ring buffer. */
  async #backfill(): Promise<void> {
    try {
      const events = await this.#manager.trace();
      const added = events.filter((event) => this.#store.add(event));
      if (added.length) {
        if (added.some((event) => event.holder === SERVER)) this.#serverChanged = true;
        this.#broadcast('trace', { rows: renderTraceRows(added, this.#link), events: added });
        this.#refresh();
      }
    } catch {
      // The manager closed: the refresh that follows says so.
    }
  }

  /**
   * Reads the table and the trace ring buffer now (for a page request): the page is current
   * even if forwarded events are still on their way. Events it finds first go out to the live
   * pages too.
   */
  async #readNow(): Promise<void> {
    if (!this.#manager.closed) {
      try {
        const [snapshot, references] = await Promise.all([
          this.#manager[inspectSymbol](),
          this.#manager.references(),
        ]);
        this.#entries = [...snapshot.entries];
        this.#references = references;
        const added = snapshot.trace.filter((event) => this.#store.add(event));
        if (added.length) {
          this.#broadcast('trace', { rows: renderTraceRows(added, this.#link), events: added });
          this.#rebuild();
          this.#broadcastState();
        }
      } catch {
        // The manager closed meanwhile: #rebuild shows it.
      }
    }
    this.#rebuild();
  }

  /** Re-reads the table after trace events (one query at a time; events meanwhile coalesce). */
  #refresh(): void {
    if (this.#refreshing) {
      this.#dirty = true;
      return;
    }
    this.#refreshing = true;
    void (async () => {
      do {
        // A busy manager gets at most one table read per REFRESH_SPACING_MS from the inspector.
        const wait = this.#lastRefresh + REFRESH_SPACING_MS - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (this.#closed) return;
        this.#lastRefresh = Date.now();
        this.#dirty = false;
        if (this.#manager.closed) {
          this.#entries = [];
          this.#references = [];
        } else {
          try {
            // Server-side proxies change only with events of the server holder: the walk of
            // every hosted object that finds them is skipped otherwise.
            const walk = this.#serverChanged;
            this.#serverChanged = false;
            [this.#entries, this.#references] = await Promise.all([
              this.#manager.entries(),
              walk ? this.#manager.references() : this.#references,
            ]);
          } catch {
            this.#entries = [];
            this.#references = [];
            this.#serverChanged = true;
          }
        }
        if (this.#closed) return;
        this.#rebuild();
        this.#broadcastState();
      } while (this.#dirty && !this.#closed);
      this.#refreshing = false;
    })();
  }

  #rebuild(): void {
    const now = Date.now();
    if (this.#manager.closed) {
      this.#entries = [];
      this.#references = [];
    }
    this.#snapshot = buildSnapshot(
      this.#name,
      this.#entries,
      this.#references,
      this.#store,
      this.#settings,
      now,
      this.#manager.closed,
    );
    // A handoff becomes a warning by time alone: re-render (no query) when the next one is due.
    clearTimeout(this.#handoffTimer);
    const due = nextHandoffDeadline(this.#snapshot.holders, this.#settings, now);
    if (due !== undefined && !this.#closed) {
      this.#handoffTimer = setTimeout(
        () => {
          this.#rebuild();
          this.#broadcastState();
        },
        due - now + 5,
      );
      this.#handoffTimer.unref();
    }
  }

  #broadcastState(): void {
    if (this.#clients.size === 0) return;
    this.#broadcast('state', {
      sections: renderSections(this.#snapshot!, this.#link),
      now: this.#snapshot!.now,
    });
  }

  #broadcast(event: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.#clients) client.write(frame);
  }

  // ---- HTTP

  readonly #link: LinkMaker = (path, params = {}) => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) query.set(key, String(value));
    if (this.#settings.token) query.set('token', this.#settings.token);
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  };

  #serve(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://inspector.invalid');
    if (!this.#allowed(request, url)) {
      response.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      response.end(
        this.#settings.token
          ? 'Forbidden: this inspector needs its token (?token=…) in the URL.\n'
          : 'Forbidden: the Host header is not this loopback address.\n',
      );
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', ...SECURITY_HEADERS });
      response.end();
      return;
    }
    // What a page shows is read when it is asked for (a request, not a timer).
    // (The page's script asks for /object on every state update: it reads what the stream said.)
    if (url.pathname === '/' || url.pathname === '/snapshot.json') {
      void this.#readNow().then(() => this.#respond(url, request, response));
    } else {
      if (url.pathname === '/object') this.#rebuild();
      this.#respond(url, request, response);
    }
  }

  #respond(url: URL, request: IncomingMessage, response: ServerResponse): void {
    if (this.#closed) {
      response.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      response.end('The inspector is closed.\n');
      return;
    }
    const snapshot = this.#snapshot!;
    switch (url.pathname) {
      case '/': {
        const selected = integer(url.searchParams.get('object'));
        return this.#send(
          response,
          'text/html; charset=utf-8',
          renderPage({
            snapshot,
            link: this.#link,
            token: this.#settings.token,
            filter: readFilter(url),
            selected,
            history: selected === undefined ? undefined : this.#store.object(selected),
          }),
        );
      }
      case '/object': {
        const id = integer(url.searchParams.get('id'));
        if (id === undefined) return this.#notFound(response, 'id must be an object id');
        return this.#send(
          response,
          'text/html; charset=utf-8',
          renderObjectDetail(snapshot, id, this.#store.object(id), this.#link),
        );
      }
      case '/trace': {
        const events = snapshot.trace.filter((event) => matchesFilter(event, readFilter(url)));
        const shown = events.slice(-TRACE_ROWS);
        response.setHeader('X-Trace-Count', `${shown.length} of ${snapshot.trace.length} events`);
        return this.#send(response, 'text/html; charset=utf-8', renderTraceRows(shown, this.#link));
      }
      case '/snapshot.json':
        return this.#send(response, 'application/json; charset=utf-8', JSON.stringify(snapshot));
      case '/events':
        return this.#stream(request, response);
      case '/page.js':
        return this.#send(response, 'text/javascript; charset=utf-8', this.#assets.get('page.js')!);
      case '/page.css':
        return this.#send(response, 'text/css; charset=utf-8', this.#assets.get('page.css')!);
      default:
        return this.#notFound(response, `no page at ${url.pathname}`);
    }
  }

  /**
   * With a token, every request must carry it. Without one (loopback only), the Host header
   * must name a loopback address, so a web page elsewhere cannot read this one through DNS
   * rebinding.
   */
  #allowed(request: IncomingMessage, url: URL): boolean {
    if (this.#settings.token) return url.searchParams.get('token') === this.#settings.token;
    const host = request.headers.host ?? '';
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
    return isLoopback(name);
  }

  #send(response: ServerResponse, type: string, body: string | Buffer): void {
    response.writeHead(200, { 'Content-Type': type, ...SECURITY_HEADERS });
    response.end(body);
  }

  #notFound(response: ServerResponse, message: string): void {
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    response.end(`${message}\n`);
  }

  #stream(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
    });
    response.write('retry: 1000\n\n');
    this.#clients.add(response);
    request.on('close', () => this.#clients.delete(response));
    // The page may be older than the stream: send the current state and any newer trace events.
    const after = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('after') ?? 0);
    const newer = this.#snapshot!.trace.filter((event) => event.seq > after);
    if (after > 0 && newer.length)
      response.write(
        `event: trace\ndata: ${JSON.stringify({ rows: renderTraceRows(newer, this.#link), events: newer })}\n\n`,
      );
    response.write(
      `event: state\ndata: ${JSON.stringify({ sections: renderSections(this.#snapshot!, this.#link), now: this.#snapshot!.now })}\n\n`,
    );
  }
}

function integer(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const number = Number(value.trim().replace(/^#/, ''));
  return Number.isInteger(number) ? number : undefined;
}

function readFilter(url: URL): TraceFilter {
  const text = (name: string) => url.searchParams.get(name)?.trim() || undefined;
  return {
    id: integer(url.searchParams.get('id')),
    typeid: text('typeid'),
    holder: text('holder'),
    op: text('op'),
  };
}
