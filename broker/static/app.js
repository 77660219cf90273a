// app.js: the jobq dashboard. Polls the broker's JSON API every POLL_MS and follows the
// progress of running jobs live with Server-Sent Events (GET /jobs/{id}/events).
// Signs in when the broker asks for a token: POST /session trades it for an HttpOnly,
// SameSite=Strict session cookie; the page keeps only the session's CSRF token, sent as
// X-CSRF-Token with every request that changes something (docs/api.md, POST /session).
// Plain DOM, no library; every value from the API is set as text, never as HTML.
'use strict';

(function () {
  const POLL_MS = 2000;
  // Each stream holds one of the ~6 HTTP/1.1 connections a browser opens to a host;
  // keep the rest for the polls and the buttons. Other running jobs update by polling.
  const MAX_STREAMS = 3;
  const RUNNING_LIMIT = 50;
  const FAILED_LIMIT = 10;
  const DEAD_LIMIT = 100;
  const STATES = ['pending', 'scheduled', 'running', 'completed', 'failed', 'cancelled'];
  const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

  const streams = new Map(); // job id -> EventSource
  let pollTimer = null;
  let polling = false;
  let errorSource = null; // 'poll' or 'action': what the banner shows
  let csrf = null; // the session's CSRF token; null when the broker needs no token
  let started = false; // polling runs (signed in, or no sign-in needed)

  const $ = (id) => document.getElementById(id);

  // el('td', {className: 'x'}, 'text', node, ...): children are text or nodes.
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    for (const c of children) {
      if (c !== null && c !== undefined)
        e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  // ---- the API ----

  class ApiError extends Error {}

  // One request; resolves with the parsed JSON body, rejects with an ApiError that
  // names the request and carries the broker's error code and message (and status). A
  // 401 means the session ended: the sign-in form comes back.
  async function api(method, path, body) {
    let r;
    const headers = {Accept: 'application/json'};
    if (csrf && method !== 'GET' && method !== 'HEAD')
      headers['X-CSRF-Token'] = csrf;
    const init = {method, headers, cache: 'no-store', credentials: 'same-origin'};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    try {
      r = await fetch(path, init);
    } catch (e) {
      throw new ApiError(`${method} ${path}: the broker is unreachable (${e.message})`);
    }
    let answer = null;
    try {
      answer = await r.json();
    } catch (e) {
      answer = null;
    }
    if (!r.ok) {
      const err = answer && answer.error;
      const e = new ApiError(err
        ? `${method} ${path}: ${r.status} ${err.code}: ${err.message}`
        : `${method} ${path}: HTTP ${r.status}`);
      e.status = r.status;
      e.brokerMessage = err ? err.message : '';
      if (r.status === 401 && !path.startsWith('/session'))
        showSignIn('The session has ended: sign in again.');
      throw e;
    }
    return answer;
  }

  function showError(msg, source) {
    errorSource = source;
    $('error').className = 'error';
    $('error-text').textContent = msg;
    $('error').hidden = false;
  }

  function showInfo(msg) {
    errorSource = 'action';
    $('error').className = 'info';
    $('error-text').textContent = msg;
    $('error').hidden = false;
  }

  function clearBanner(source) {
    if (!source || errorSource === source) {
      $('error').hidden = true;
      errorSource = null;
    }
  }

  // ---- formatting ----

  function ago(iso) {
    if (!iso)
      return '';
    const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (Number.isNaN(s))
      return iso;
    if (s < 0)
      return 'in ' + fmtSecs(-s);
    return fmtSecs(s) + ' ago';
  }

  function fmtSecs(s) {
    if (s < 60)
      return s + ' s';
    if (s < 3600)
      return Math.floor(s / 60) + ' min';
    if (s < 86400)
      return Math.floor(s / 3600) + ' h';
    return Math.floor(s / 86400) + ' d';
  }

  function timeCell(iso) {
    return el('td', {title: iso || '', className: 'time'}, ago(iso));
  }

  // ---- tables kept in place ----

  // Makes tbody show one row per item, in order: rows are found by key and updated, so
  // a row (its buttons, its progress bar) survives a refresh; rows of items that went
  // away are removed. build(item) returns a new <tr>, update(tr, item) fills it.
  function syncRows(tbody, items, key, build, update) {
    const old = new Map();
    for (const tr of tbody.rows)
      old.set(tr.dataset.key, tr);
    let prev = null;
    for (const item of items) {
      const k = String(key(item));
      let tr = old.get(k);
      if (tr) {
        old.delete(k);
      } else {
        tr = build(item);
        tr.dataset.key = k;
      }
      update(tr, item);
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== tr)
        tbody.insertBefore(tr, want);
      prev = tr;
    }
    for (const tr of old.values())
      tr.remove();
  }

  // Replaces the cells of tr (all but those marked data-keep) with new ones.
  function setCells(tr, cells) {
    for (const td of Array.from(tr.cells))
      if (!td.dataset.keep)
        td.remove();
    const kept = tr.firstChild;
    for (const c of cells)
      tr.insertBefore(c instanceof Node ? c : el('td', {}, c), kept);
  }

  // A table once its data arrived: the rows, or its empty-state text; no more loading.
  function showEmpty(id, n) {
    $(id + '-loading').hidden = true;
    $(id + '-empty').hidden = n > 0;
    $(id).hidden = n === 0;
  }

  // A table whose data did not arrive: until it ever did, its placeholder says why
  // (after that the last rows stay, and the banner says what failed).
  function showUnavailable(id, err) {
    const p = $(id + '-loading');
    if (!$(id).hidden || !$(id + '-empty').hidden)
      return;
    p.textContent = 'Could not load: ' + (err ? err.message : 'no answer');
    p.classList.add('failed');
  }

  function jobLink(id) {
    return el('td', {}, el('a', {href: '/jobs/' + id, title: 'the job as JSON'}, String(id)));
  }

  // ---- queues ----

  // served: the names of the queues some live worker takes jobs from, or null when the
  // workers are not known (their poll failed): then no warning is guessed.
  function queueBadge(q, served) {
    if (q.paused)
      return el('span', {className: 'badge warn'}, 'paused');
    if (served && !served.has(q.name) && q.pending > 0)
      return el('span', {className: 'badge warn no-worker', title:
        `${q.pending} pending and no live worker serves this queue ` +
        `(jobq-worker --queues ${q.name})`}, 'no worker');
    return el('span', {className: 'badge ok'}, 'active');
  }

  function renderQueues(queues, workers) {
    const served = workers ? new Set(workers.flatMap((w) => w.queues || [])) : null;
    syncRows($('queues').tBodies[0], queues, (q) => q.name, (q) => {
      const btn = el('button', {type: 'button', className: 'toggle'});
      btn.dataset.queue = q.name;
      const td = el('td', {}, btn);
      td.dataset.keep = '1';
      return el('tr', {}, td);
    }, (tr, q) => {
      tr.classList.toggle('paused', q.paused);
      tr.dataset.paused = q.paused ? '1' : '0';
      setCells(tr, [el('td', {className: 'name'}, q.name), q.pending, q.scheduled, q.running,
        q.completed, q.failed, q.retried, q.cancelled, el('td', {}, queueBadge(q, served))]);
      const btn = tr.querySelector('button.toggle');
      if (!btn.disabled)
        btn.textContent = q.paused ? 'Resume' : 'Pause';
      btn.dataset.action = q.paused ? 'resume' : 'pause';
    });
    showEmpty('queues', queues.length);
  }

  $('queues').addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button.toggle');
    if (!btn)
      return;
    const name = btn.dataset.queue, action = btn.dataset.action;
    btn.disabled = true;
    try {
      await api('POST', `/queues/${encodeURIComponent(name)}/${action}`);
      clearBanner('action');
    } catch (e) {
      showError(e.message, 'action');
    } finally {
      btn.disabled = false;
      refresh();
    }
  });

  // ---- running jobs, live ----

  function setProgress(tr, done, total, status) {
    tr.dataset.done = String(done);
    tr.dataset.total = String(total);
    const bar = tr.querySelector('.bar');
    const fill = tr.querySelector('.fill');
    const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
    fill.style.width = pct + '%';
    bar.classList.toggle('indeterminate', total <= 0);
    bar.setAttribute('aria-valuenow', String(pct));
    tr.querySelector('.ptext').textContent = total > 0 ? `${done}/${total}` : status;
  }

  function openStream(id) {
    const es = new EventSource('/jobs/' + id + '/events');
    streams.set(id, es);
    const onEvent = (ev) => {
      let d;
      try {
        d = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      const tr = $('running').tBodies[0].querySelector(`tr[data-key="${id}"]`);
      if (tr) {
        tr.dataset.live = 'sse';
        tr.dataset.state = d.state;
        tr.classList.toggle('finished', TERMINAL.has(d.state));
        if (TERMINAL.has(d.state) || d.state !== 'running')
          tr.querySelector('.ptext').textContent = d.status;
        if (d.state === 'running')
          setProgress(tr, d.progress.done, d.progress.total, d.status);
        else if (d.state === 'completed')
          setProgress(tr, d.progress.total || 1, d.progress.total || 1, d.status);
      }
      if (TERMINAL.has(d.state))
        closeStream(id); // the broker ends the stream; do not let EventSource reconnect
    };
    for (const s of STATES)
      es.addEventListener(s, onEvent);
    es.onerror = () => {
      // CLOSED: the broker refused the stream (the job is gone); otherwise EventSource
      // reconnects by itself and the broker sends the current state first
      if (es.readyState === EventSource.CLOSED)
        closeStream(id);
    };
  }

  function closeStream(id) {
    const es = streams.get(id);
    if (es) {
      es.close();
      streams.delete(id);
    }
  }

  function renderRunning(list) {
    const ids = new Set(list.jobs.map((j) => j.id));
    for (const id of Array.from(streams.keys()))
      if (!ids.has(id))
        closeStream(id);
    syncRows($('running').tBodies[0], list.jobs, (j) => j.id, (j) => {
      const fill = el('div', {className: 'fill'});
      const bar = el('div', {className: 'bar'}, fill);
      bar.setAttribute('role', 'progressbar');
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', '100');
      const cancel = el('button', {type: 'button', className: 'cancel'}, 'Cancel');
      cancel.dataset.job = String(j.id);
      return el('tr', {}, jobLink(j.id), el('td', {className: 'type'}),
        el('td', {className: 'queue'}),
        el('td', {className: 'progress'}, bar, el('span', {className: 'ptext'})),
        el('td', {className: 'attempt'}), el('td', {className: 'worker'}),
        el('td', {className: 'time'}), el('td', {}, cancel));
    }, (tr, j) => {
      tr.querySelector('.type').textContent = j.type;
      tr.querySelector('.queue').textContent = j.queue;
      tr.querySelector('.attempt').textContent = `${j.attempts}/${j.max_attempts}`;
      tr.querySelector('.worker').textContent = j.worker || '';
      const started = tr.querySelector('.time');
      started.textContent = ago(j.started_at);
      started.title = j.started_at || '';
      // a live stream knows better than a poll that may have left before its last event
      if (!streams.has(j.id) || tr.dataset.done === undefined)
        setProgress(tr, j.progress.done, j.progress.total, j.status);
      if (!streams.has(j.id)) {
        tr.dataset.live = 'poll';
        if (streams.size < MAX_STREAMS)
          openStream(j.id);
      }
    });
    $('running-count').textContent = list.count > list.jobs.length
      ? `(${list.jobs.length} of ${list.count})` : `(${list.jobs.length})`;
    showEmpty('running', list.jobs.length);
  }

  $('running').addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button.cancel');
    if (!btn)
      return;
    btn.disabled = true;
    try {
      await api('DELETE', '/jobs/' + btn.dataset.job);
      showInfo(`job ${btn.dataset.job}: cancel requested`);
    } catch (e) {
      showError(e.message, 'action');
      btn.disabled = false;
    }
    refresh();
  });

  // ---- workers ----

  function renderWorkers(workers) {
    syncRows($('workers').tBodies[0], workers, (w) => w.id, () => el('tr'), (tr, w) => {
      setCells(tr, [el('td', {className: 'worker'}, w.id), (w.queues || []).join(', '),
        w.running, w.concurrency, w.threads, w.completed, w.failed, timeCell(w.started_at),
        timeCell(w.last_heartbeat)]);
    });
    $('workers-count').textContent = `(${workers.length})`;
    showEmpty('workers', workers.length);
  }

  // ---- scheduled jobs ----

  function renderScheduled(list) {
    syncRows($('scheduled').tBodies[0], list.jobs, (j) => j.id, () => el('tr'), (tr, j) => {
      setCells(tr, [jobLink(j.id), j.type, j.queue, `${j.attempts}/${j.max_attempts}`,
        timeCell(j.run_at), el('td', {className: 'errtext', title: j.error || ''}, j.error || '')]);
    });
    $('scheduled-count').textContent = list.count > list.jobs.length
      ? `(${list.jobs.length} of ${list.count})` : `(${list.jobs.length})`;
    showEmpty('scheduled', list.jobs.length);
  }

  // ---- failures ----

  function renderFailures(scheduled, failed) {
    const retrying = scheduled.jobs.filter((j) => j.error);
    const rows = retrying.concat(failed.jobs);
    syncRows($('failures').tBodies[0], rows, (j) => j.state + ':' + j.id, () => el('tr'),
      (tr, j) => {
        tr.className = j.state === 'failed' ? 'dead' : 'retrying';
        const next = j.state === 'failed'
          ? el('td', {title: j.failed_at || ''}, 'failed for good ' + ago(j.failed_at))
          : el('td', {title: j.run_at || ''}, 'retry ' + ago(j.run_at));
        setCells(tr, [jobLink(j.id), j.type, j.queue, `${j.attempts}/${j.max_attempts}`, next,
          el('td', {className: 'errtext', title: j.error}, j.error)]);
      });
    showEmpty('failures', rows.length);
  }

  // ---- dead set ----

  function renderDead(jobs, count) {
    syncRows($('dead').tBodies[0], jobs, (j) => j.id, (j) => {
      const btn = el('button', {type: 'button', className: 'retry'}, 'Retry');
      btn.dataset.job = String(j.id);
      const td = el('td', {}, btn);
      td.dataset.keep = '1';
      return el('tr', {}, td);
    }, (tr, j) => {
      setCells(tr, [jobLink(j.id), j.type, j.queue, j.attempts, timeCell(j.failed_at),
        el('td', {className: 'errtext', title: j.error}, j.error)]);
    });
    $('dead-count').textContent = `(${count})`;
    showEmpty('dead', jobs.length);
  }

  $('dead').addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button.retry');
    if (!btn)
      return;
    btn.disabled = true;
    try {
      const r = await api('POST', `/dead/${btn.dataset.job}/retry`);
      showInfo(`job ${r.id} is ${r.state} again`);
    } catch (e) {
      showError(e.message, 'action');
      btn.disabled = false;
    }
    refresh();
  });

  $('dead-purge').addEventListener('click', async () => {
    if (!window.confirm('Delete every dead job? This cannot be undone.'))
      return;
    try {
      const r = await api('DELETE', '/dead');
      showInfo(`purged ${r.purged} dead jobs`);
    } catch (e) {
      showError(e.message, 'action');
    }
    refresh();
  });

  $('error-close').addEventListener('click', () => clearBanner());

  // ---- polling ----

  let again = false; // refresh() was called during a poll: poll once more right after

  async function refresh() {
    if (!started)
      return;
    if (polling) {
      again = true;
      return;
    }
    polling = true;
    again = false;
    clearTimeout(pollTimer);
    const calls = {
      health: api('GET', '/healthz'),
      queues: api('GET', '/queues'),
      workers: api('GET', '/workers'),
      running: api('GET', `/jobs?state=running&limit=${RUNNING_LIMIT}`),
      scheduled: api('GET', '/jobs?state=scheduled&limit=100'),
      failed: api('GET', `/jobs?state=failed&limit=${FAILED_LIMIT}`),
      dead: api('GET', `/dead?limit=${DEAD_LIMIT}`),
    };
    const names = Object.keys(calls);
    const results = await Promise.allSettled(Object.values(calls));
    const got = {};
    let firstError = null;
    names.forEach((n, i) => {
      if (results[i].status === 'fulfilled')
        got[n] = results[i].value;
      else if (!firstError)
        firstError = results[i].reason;
    });
    const health = $('health');
    health.textContent = got.health ? 'redis ok' : 'unavailable';
    health.className = 'badge ' + (got.health ? 'ok' : 'bad');
    const why = (n) => results[names.indexOf(n)].reason;
    try {
      if (got.queues)
        renderQueues(got.queues.queues, got.workers ? got.workers.workers : null);
      else
        showUnavailable('queues', why('queues'));
      if (got.running)
        renderRunning(got.running);
      else
        showUnavailable('running', why('running'));
      if (got.workers)
        renderWorkers(got.workers.workers);
      else
        showUnavailable('workers', why('workers'));
      if (got.scheduled)
        renderScheduled(got.scheduled);
      else
        showUnavailable('scheduled', why('scheduled'));
      if (got.scheduled && got.failed)
        renderFailures(got.scheduled, got.failed);
      else
        showUnavailable('failures', why(got.scheduled ? 'failed' : 'scheduled'));
      if (got.dead)
        renderDead(got.dead.jobs, got.failed ? got.failed.count : got.dead.jobs.length);
      else
        showUnavailable('dead', why('dead'));
    } catch (e) {
      firstError = firstError || e;
    }
    // Purge only when there is something to purge and a Redis to purge it in
    $('dead-purge').hidden = !(got.health && got.dead && got.dead.jobs.length > 0);
    if (firstError)
      showError(firstError.message, 'poll');
    else
      clearBanner('poll');
    // 24-hour UTC, as the times the rows show on hover (RFC 3339, UTC)
    $('updated').textContent = 'updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
    $('updated').dataset.polls = String(Number($('updated').dataset.polls || 0) + 1);
    polling = false;
    if (started) // not after a sign-out or an ended session
      pollTimer = setTimeout(refresh, again ? 0 : POLL_MS);
  }

  window.addEventListener('beforeunload', () => {
    for (const id of Array.from(streams.keys()))
      closeStream(id);
  });

  // ---- signing in ----

  function stop() {
    started = false;
    clearTimeout(pollTimer);
    for (const id of Array.from(streams.keys()))
      closeStream(id);
  }

  function showSignIn(msg) {
    stop();
    csrf = null;
    $('main').hidden = true;
    $('whoami').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    $('signin-error').textContent = msg || '';
    $('signin-error').hidden = !msg;
    $('token').focus();
  }

  // The broker's answer about the session: start polling as the signed-in token.
  function begin(grant) {
    csrf = grant.auth === 'session' ? grant.csrf : null;
    $('signin').hidden = true;
    $('main').hidden = false;
    $('whoami').hidden = grant.auth !== 'session';
    $('signout').hidden = grant.auth !== 'session';
    if (grant.auth === 'session')
      $('whoami').textContent = `signed in: ${grant.name} (${grant.scopes.join(', ')})`;
    if (!started) {
      started = true;
      refresh();
    }
  }

  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $('token');
    $('signin-button').disabled = true;
    try {
      begin(await api('POST', '/session', {token: input.value.trim()}));
      input.value = ''; // the page keeps no copy: the cookie stands for it now
    } catch (e) {
      $('signin-error').textContent = e.status === 401 ? 'That token is not valid.' : e.message;
      $('signin-error').hidden = false;
    } finally {
      $('signin-button').disabled = false;
    }
  });

  $('signout').addEventListener('click', async () => {
    try {
      await api('DELETE', '/session');
    } catch (e) {
      // signed out either way: the form comes back
    }
    showSignIn('Signed out.');
  });

  (async () => {
    try {
      begin(await api('GET', '/session'));
    } catch (e) {
      if (e.status === 401)
        showSignIn('');
      else
        showError(e.message, 'poll');
    }
  })();
})();
