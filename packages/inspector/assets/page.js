// @managers/inspector: the page's live behaviour. The server renders every part of the page;
// this script only swaps in what the server sends over Server-Sent Events, filters the trace
// in place and opens an object's life without a reload. Without it the page still reads.
'use strict';
(function () {
  const body = document.body;
  const traceBody = document.getElementById('trace-body');
  const form = document.getElementById('filters');
  const live = document.getElementById('live');
  const MAX_ROWS = 300;
  let lastSeq = Number(body.dataset.lastSeq || 0);
  let selected = body.dataset.selected ? Number(body.dataset.selected) : undefined;
  let clockSkew = 0;

  const token = new URL(location.href).searchParams.get('token');
  function withToken(path, params) {
    const url = new URL(path, location.href);
    for (const [key, value] of Object.entries(params || {})) url.searchParams.set(key, value);
    if (token) url.searchParams.set('token', token);
    return url.pathname + url.search;
  }

  function filterValues() {
    const data = new FormData(form);
    return {
      id: String(data.get('id') || '')
        .trim()
        .replace(/^#/, ''),
      typeid: String(data.get('typeid') || '')
        .trim()
        .toLowerCase(),
      holder: String(data.get('holder') || '')
        .trim()
        .toLowerCase(),
      op: String(data.get('op') || ''),
    };
  }

  function matches(row, filter) {
    if (filter.id && row.dataset.id !== filter.id) return false;
    if (filter.op && row.dataset.op !== filter.op) return false;
    if (filter.typeid && !row.dataset.typeid.toLowerCase().includes(filter.typeid)) return false;
    if (filter.holder && !row.dataset.holder.toLowerCase().includes(filter.holder)) return false;
    return true;
  }

  function parseRows(html) {
    const template = document.createElement('template');
    template.innerHTML = '<table><tbody>' + html + '</tbody></table>';
    return Array.from(template.content.querySelectorAll('tr'));
  }

  function updateCount() {
    const count = document.getElementById('trace-count');
    if (count) count.textContent = traceBody.rows.length + ' events shown';
  }

  // ---- filters: ask the server for the matching rows (a fetch per change, never on a timer)
  let filterRequest = 0;
  async function applyFilters() {
    const filter = filterValues();
    const params = {};
    for (const [key, value] of Object.entries(filter)) if (value) params[key] = value;
    const ticket = ++filterRequest;
    const response = await fetch(withToken('/trace', params));
    if (ticket !== filterRequest || !response.ok) return;
    traceBody.innerHTML = await response.text();
    const count = document.getElementById('trace-count');
    if (count) count.textContent = response.headers.get('X-Trace-Count') || '';
    const url = new URL(location.href);
    for (const key of ['id', 'typeid', 'holder', 'op']) {
      if (params[key]) url.searchParams.set(key, params[key]);
      else url.searchParams.delete(key);
    }
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  let filterTimer;
  form.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilters, 120);
  });
  form.addEventListener('change', () => {
    clearTimeout(filterTimer);
    applyFilters();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    applyFilters();
  });

  // ---- one object's life
  async function showObject(id) {
    selected = id;
    const response = await fetch(withToken('/object', { id: String(id) }));
    if (!response.ok || selected !== id) return;
    document.getElementById('object-body').innerHTML = await response.text();
    for (const row of document.querySelectorAll('tr.object-row')) {
      row.classList.toggle('selected', Number(row.dataset.id) === id);
    }
    const url = new URL(location.href);
    url.searchParams.set('object', String(id));
    history.replaceState(null, '', url.pathname + url.search + '#object');
  }
  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey)
      return;
    const link = target.closest('a.object-link, tr.object-row, g.object');
    if (link && link.dataset.id) {
      event.preventDefault();
      showObject(Number(link.dataset.id));
      document.getElementById('object').scrollIntoView({ block: 'nearest' });
      return;
    }
    if (target.closest('a.close-object')) {
      event.preventDefault();
      selected = undefined;
      document.getElementById('object-body').innerHTML =
        '<p class="empty">Click an object (or an id in the trace) to see every event of its life.</p>';
      const url = new URL(location.href);
      url.searchParams.delete('object');
      history.replaceState(null, '', url.pathname + url.search);
    }
  });

  // ---- ages tick in the browser (no request)
  function tickAges() {
    const now = Date.now() - clockSkew;
    for (const element of document.querySelectorAll('.age[data-since]')) {
      const ms = now - Number(element.dataset.since);
      element.textContent = (element.dataset.exact === 'true' ? '' : '≥ ') + duration(ms);
    }
  }
  function duration(ms) {
    if (ms < 1000) return Math.max(0, Math.round(ms)) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    if (ms < 3600000)
      return Math.floor(ms / 60000) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s';
    return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' min';
  }
  setInterval(tickAges, 1000);

  // ---- live updates
  function connect() {
    const source = new EventSource(withToken(body.dataset.events, { after: String(lastSeq) }));
    source.addEventListener('open', () => {
      live.textContent = 'live';
      live.className = 'live on';
    });
    source.addEventListener('error', () => {
      live.textContent = 'reconnecting…';
      live.className = 'live off';
    });
    source.addEventListener('state', (message) => {
      const data = JSON.parse(message.data);
      clockSkew = Date.now() - data.now;
      for (const [id, html] of Object.entries(data.sections)) {
        const element = document.getElementById(id);
        if (element) element.innerHTML = html;
      }
      for (const row of document.querySelectorAll('tr.object-row')) {
        row.classList.toggle('selected', Number(row.dataset.id) === selected);
      }
      if (selected !== undefined) showObject(selected);
      body.dataset.updated = String(data.now);
    });
    source.addEventListener('trace', (message) => {
      const data = JSON.parse(message.data);
      const filter = filterValues();
      const rows = parseRows(data.rows).filter((row) => Number(row.dataset.seq) > lastSeq);
      // Rows come newest first; insert the oldest first so the newest ends on top.
      for (const row of rows.reverse()) {
        if (matches(row, filter)) traceBody.insertBefore(row, traceBody.firstChild);
        lastSeq = Math.max(lastSeq, Number(row.dataset.seq));
      }
      while (traceBody.rows.length > MAX_ROWS) traceBody.deleteRow(-1);
      updateCount();
      body.dataset.lastSeq = String(lastSeq);
    });
  }
  live.textContent = 'connecting…';
  connect();
})();
