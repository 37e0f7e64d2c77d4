/* vigil console: live alerts, acknowledgements, replay, camera wall,
 * response figures and search. Plain DOM, no framework. Alert data is
 * input (camera names come from configurations): it only ever reaches the
 * page through textContent and attribute setters, never as markup. */
'use strict';

const V = {
  me: null,             // GET /api/me
  events: new Map(),    // event key -> {alert, ack, row, escalated}
  seen: { district: new Set(), grid: new Set(), type: new Set() },
  es: null,
  audio: null,
  soundOn: true,
  view: 'live',
  wallTimer: null,
  responseTimer: null,
};

/* ---------- helpers ---------- */

function $(id) { return document.getElementById(id); }

function el(tag, attrs, children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children || []) {
    if (c === null || c === undefined) continue;
    e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

function goLogin() {
  if (V.es) V.es.close();
  window.location.replace('/login');
}

async function api(path, opts) {
  opts = opts || {};
  const init = { credentials: 'same-origin', headers: {} };
  if (opts.body !== undefined) {
    init.method = 'POST';
    init.headers['Content-Type'] = 'application/json';
    init.headers['X-CSRF-Token'] = V.me ? V.me.csrf : '';
    init.body = JSON.stringify(opts.body);
  }
  const r = await fetch(path, init);
  if (r.status === 401) {
    goLogin();
    throw new Error('not signed in');
  }
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok && !opts.allow) {
    const msg = data && data.error ? data.error : 'HTTP ' + r.status;
    throw new Error(msg);
  }
  return { status: r.status, ok: r.ok, data: data };
}

/* /media/<node>/clips/<path>: every path segment encoded on its own. */
function mediaUrl(node, kind, path) {
  const segs = String(path).split('/').map(encodeURIComponent).join('/');
  return '/media/' + encodeURIComponent(node || '') + '/' + kind + '/' + segs;
}

function parseTime(s) {
  if (!s) return NaN;
  return Date.parse(s);
}

function pad(n) { return n < 10 ? '0' + n : String(n); }

function fmtTime(s) {
  const t = parseTime(s);
  if (isNaN(t)) return s ? String(s) : '—';
  const d = new Date(t);
  const now = new Date();
  const hms = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  if (d.toDateString() === now.toDateString()) return hms;
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + hms;
}

function fmtSecs(s) {
  if (s === null || s === undefined || isNaN(s)) return '—';
  s = Number(s);
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  const m = Math.floor(s / 60);
  return m + ' min ' + pad(Math.round(s - m * 60)) + ' s';
}

function fmtTarget(s) {
  s = Number(s);
  return s >= 60 && s % 60 === 0 ? (s / 60) + ' min' : s + ' s';
}

function fmtShare(x, n) {
  if (x === null || x === undefined || !n) return '—';
  return Math.round(Number(x) * 100) + ' %';       // a share, 0..1
}

/* ---------- sound ---------- */

function beep(kind) {
  document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  document.body.dataset.lastBeep = kind;
  const k = 'beeps' + kind.charAt(0).toUpperCase() + kind.slice(1);
  document.body.dataset[k] = String(Number(document.body.dataset[k] || 0) + 1);
  if (!V.soundOn) return;
  try {
    if (!V.audio) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      V.audio = new Ctx();
    }
    const ctx = V.audio;
    if (ctx.state === 'suspended') ctx.resume();
    const t0 = ctx.currentTime;
    const tones = kind === 'escalation' ? [880, 660, 880, 660] : [988, 740];
    tones.forEach(function (f, i) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, t0 + i * 0.2);
      gain.gain.exponentialRampToValueAtTime(0.2, t0 + i * 0.2 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.2 + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + i * 0.2);
      osc.stop(t0 + i * 0.2 + 0.2);
    });
  } catch (e) { /* no audio device: the counter still tells */ }
}

/* Browsers start audio only after a user gesture: resume on the first one. */
function unlockAudio() {
  if (V.audio && V.audio.state === 'suspended') V.audio.resume();
}

/* ---------- live alerts ---------- */

function alertNewer(a, b) {
  // true when a is a later phase of the event than b
  const ra = a.received || a.ts || '', rb = b.received || b.ts || '';
  if (ra !== rb) return ra > rb;
  return (a.seq || 0) >= (b.seq || 0);
}

function addOption(sel, value) {
  for (const o of sel.options) if (o.value === value) return;
  sel.appendChild(el('option', { value: value, text: value }));
}

function noteSeen(a) {
  const pairs = [['district', 'f-district'], ['grid', 'f-grid'], ['type', 'f-type']];
  for (const [k, id] of pairs) {
    const v = a[k];
    if (typeof v === 'string' && v && !V.seen[k].has(v)) {
      V.seen[k].add(v);
      addOption($(id), v);
    }
  }
}

function thumbFor(a) {
  if (a.snapshot && a.node !== undefined) {
    const img = el('img', { class: 'thumb', alt: 'snapshot', loading: 'lazy',
      src: mediaUrl(a.node, 'clips', a.snapshot) });
    img.addEventListener('error', function () { img.classList.add('broken'); });
    return img;
  }
  return el('div', { class: 'thumb none', text: a.type === 'video_loss' ? 'no video' : 'no snapshot' });
}

function renderAckInfo(ev) {
  const box = ev.row.querySelector('.ack');
  box.textContent = '';
  if (ev.ack) {
    const ack = ev.ack;
    box.appendChild(el('span', { class: 'ack-by', text: 'Acknowledged by ' + ack.user }));
    box.appendChild(el('span', { class: 'ack-at', title: ack.at || '',
      text: ' at ' + fmtTime(ack.at) +
        (ack.response_s !== undefined && ack.response_s !== null
          ? ' (' + fmtSecs(ack.response_s) + ')' : '') }));
    if (ack.note) box.appendChild(el('span', { class: 'ack-note-text', text: ' — ' + ack.note }));
    return;
  }
  const note = el('input', { class: 'ack-note', type: 'text', maxlength: '250',
    placeholder: 'note (optional)', 'aria-label': 'acknowledgement note' });
  const btn = el('button', { class: 'ack-btn', type: 'button', text: 'Acknowledge' });
  const msg = el('span', { class: 'ack-error error' });
  const submit = function () { acknowledge(ev, note.value, btn, msg); };
  btn.addEventListener('click', submit);
  note.addEventListener('keydown', function (e) { if (e.key === 'Enter') submit(); });
  box.appendChild(note);
  box.appendChild(btn);
  box.appendChild(msg);
}

async function acknowledge(ev, note, btn, msg) {
  unlockAudio();
  btn.disabled = true;
  msg.textContent = '';
  try {
    const r = await api('/api/ack', { body: { key: ev.alert.key, note: note }, allow: true });
    if (r.ok && r.data) {
      applyAck(Object.assign({ key: ev.alert.key }, r.data));
    } else if (r.status === 409) {
      // Someone else was quicker; their ack arrives on the event stream,
      // and the 409 may already carry it.
      const prior = r.data && (r.data.ack || (r.data.user ? r.data : null));
      if (prior) applyAck(Object.assign({ key: ev.alert.key }, prior));
      else msg.textContent = 'already acknowledged';
    } else {
      msg.textContent = (r.data && r.data.error) || ('failed (' + r.status + ')');
      btn.disabled = false;
    }
  } catch (e) {
    msg.textContent = String(e.message || e);
    btn.disabled = false;
  }
}

function applyAck(ack) {
  const ev = V.events.get(ack.key);
  if (!ev) return;
  if (ev.ack) return;
  ev.ack = { user: ack.user, at: ack.at, note: ack.note, response_s: ack.response_s };
  ev.alert.ack = ev.ack;
  ev.row.classList.add('acked');
  ev.row.classList.remove('escalated');
  ev.row.dataset.acked = '1';
  renderAckInfo(ev);
  applyFilters();
}

function fillRow(ev) {
  const a = ev.alert;
  const row = ev.row;
  // a note being typed survives the row's update by a later phase
  const oldNote = row.querySelector('.ack-note');
  const noteText = oldNote ? oldNote.value : '';
  const noteFocus = oldNote !== null && document.activeElement === oldNote;
  row.className = 'alert sev-' + (a.severity || 'unknown');
  if (ev.ack) row.classList.add('acked');
  else if (ev.escalated) row.classList.add('escalated');
  row.dataset.key = a.key;
  row.dataset.severity = a.severity || '';
  row.dataset.district = a.district || '';
  row.dataset.grid = a.grid || '';
  row.dataset.type = a.type || '';
  row.dataset.camera = a.camera || '';
  row.dataset.phase = a.phase || '';
  row.dataset.due = a.due || '';
  row.dataset.acked = ev.ack ? '1' : '0';
  row.textContent = '';

  // the event's time is its first alert's; a later phase shows its own
  const first = ev.firstTs || a.ts || '';
  const head = el('div', { class: 'line1' }, [
    el('span', { class: 'sev', text: a.severity || '?' }),
    el('time', { class: 'ts', datetime: first, title: first, text: fmtTime(first) }),
    el('span', { class: 'cam', title: a.camera || '', text: a.name || a.camera || '' }),
    el('span', { class: 'place', text: (a.district || '—') + ' / ' + (a.grid || '—') }),
  ]);
  const body = el('div', { class: 'line2' }, [
    el('span', { class: 'type', text: a.type || '' }),
    el('span', { class: 'phase', title: a.ts || '',
      text: (a.phase || '') + (a.ts && a.ts !== first ? ' ' + fmtTime(a.ts) : '') }),
    el('span', { class: 'zone', text: 'zone: ' + (a.zone === null || a.zone === undefined ? 'whole picture' : a.zone) }),
    el('span', { class: 'site', text: 'site: ' + (a.site || '—') }),
    a.due ? el('span', { class: 'due', title: a.due, text: 'due ' + fmtTime(a.due) }) : null,
    a.detail ? el('span', { class: 'detail', text: a.detail }) : null,
  ]);
  const actions = el('div', { class: 'actions' });
  if (a.clip || a.snapshot) {
    actions.appendChild(el('a', { class: 'replay-link', href: '#replay/' + encodeURIComponent(a.key),
      text: 'Replay' }));
  }
  actions.appendChild(el('div', { class: 'ack' }));
  row.appendChild(thumbFor(a));
  row.appendChild(el('div', { class: 'info' }, [head, body, actions]));
  renderAckInfo(ev);
  const note = row.querySelector('.ack-note');
  if (note && noteText) note.value = noteText;
  if (note && noteFocus) note.focus();
}

/* One row per event (all phases share the key); a later phase updates it. */
function upsertAlert(a, live) {
  if (!a || typeof a.key !== 'string') return;
  noteSeen(a);
  let ev = V.events.get(a.key);
  if (ev) {
    const hadSnap = ev.alert.snapshot, hadClip = ev.alert.clip;
    if (!alertNewer(a, ev.alert)) {
      if (a.ts && a.ts < ev.firstTs) {
        ev.firstTs = a.ts;
        ev.row.dataset.first = a.ts;
        fillRow(ev);
      }
      if (!ev.ack && a.ack) applyAck(Object.assign({ key: a.key }, a.ack));
      return;
    }
    a = Object.assign({}, a);
    if (!a.snapshot && hadSnap) a.snapshot = hadSnap;
    if (!a.clip && hadClip) a.clip = hadClip;
    if (!a.due && ev.alert.due) a.due = ev.alert.due;
    ev.alert = a;
    if (!ev.ack && a.ack) ev.ack = a.ack;
    fillRow(ev);
  } else {
    ev = { alert: a, ack: a.ack || null, row: el('li'), escalated: false, firstTs: a.ts || '' };
    V.events.set(a.key, ev);
    fillRow(ev);
    insertRow(ev);
    if (live && a.severity === 'critical' && !ev.ack && a.phase !== 'end') beep('critical');
  }
  applyFilterTo(ev);
  checkEscalation(ev, Date.now(), live);
  updateCount();
}

function insertRow(ev) {
  const list = $('alerts');
  const t = ev.firstTs;
  // newest first by the event's time; live alerts nearly always go on top
  let before = list.firstElementChild;
  while (before) {
    const other = V.events.get(before.dataset.key);
    if (!other || (other.firstTs || other.alert.ts || '') <= t) break;
    before = before.nextElementSibling;
  }
  ev.row.dataset.first = t;
  list.insertBefore(ev.row, before);
}

function applyFilterTo(ev) {
  const f = V.filters;
  const a = ev.alert;
  const show = (!f.district || a.district === f.district) &&
    (!f.grid || a.grid === f.grid) &&
    (!f.severity || a.severity === f.severity) &&
    (!f.type || a.type === f.type) &&
    (!f.unacked || !ev.ack);
  ev.row.hidden = !show;
}

function readFilters() {
  V.filters = {
    district: $('f-district').value,
    grid: $('f-grid').value,
    severity: $('f-severity').value,
    type: $('f-type').value,
    unacked: $('f-unacked').checked,
  };
}

function applyFilters() {
  readFilters();
  for (const ev of V.events.values()) applyFilterTo(ev);
  updateCount();
}

function updateCount() {
  let shown = 0, open = 0;
  for (const ev of V.events.values()) {
    if (!ev.row.hidden) shown++;
    if (!ev.ack) open++;
  }
  $('live-count').textContent = shown + ' shown, ' + open + ' unacknowledged';
  $('alerts-empty').hidden = shown > 0;
}

/* Escalation: unacknowledged past its due time. Checked every second. */
function checkEscalation(ev, now, sound) {
  if (ev.ack || ev.escalated) return;
  const due = parseTime(ev.alert.due);
  if (isNaN(due) || now < due) return;
  ev.escalated = true;
  ev.row.classList.add('escalated');
  ev.row.dataset.escalated = '1';
  if (sound !== false) beep('escalation');
}

function escalationTick() {
  const now = Date.now();
  for (const ev of V.events.values()) checkEscalation(ev, now, true);
}

async function loadRecent() {
  const r = await api('/api/alerts?limit=300');
  const list = (r.data && r.data.alerts) || [];
  // newest first: take them oldest first so that later phases win
  for (let i = list.length - 1; i >= 0; i--) upsertAlert(list[i], false);
}

function connectEvents() {
  if (V.es) V.es.close();
  const es = new EventSource('/api/events');
  V.es = es;
  let failed = false;
  const conn = $('conn');
  es.addEventListener('open', function () {
    conn.dataset.state = 'live';
    conn.textContent = 'live';
    if (failed) loadRecent().catch(function () {});   // fill what was missed
    failed = false;
  });
  es.addEventListener('alert', function (m) {
    let a;
    try { a = JSON.parse(m.data); } catch (e) { return; }
    upsertAlert(a, true);
  });
  es.addEventListener('ack', function (m) {
    let ack;
    try { ack = JSON.parse(m.data); } catch (e) { return; }
    if (ack && typeof ack.key === 'string') applyAck(ack);
  });
  es.addEventListener('error', function () {
    failed = true;
    conn.dataset.state = 'down';
    conn.textContent = 'reconnecting';
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (an HTTP error such as 401): ask why, retry.
      api('/api/me').then(function () {
        setTimeout(connectEvents, 2000);
      }).catch(function () { setTimeout(connectEvents, 5000); });
    }
  });
}

/* ---------- replay ---------- */

async function findAlert(key) {
  const ev = V.events.get(key);
  if (ev && (ev.alert.clip || ev.alert.snapshot)) return ev.alert;
  const r = await api('/api/alerts?limit=1000');
  let best = null;
  for (const a of (r.data && r.data.alerts) || []) {
    if (a.key !== key) continue;
    if (!best) best = Object.assign({}, a);
    if (!best.clip && a.clip) best.clip = a.clip;
    if (!best.snapshot && a.snapshot) best.snapshot = a.snapshot;
    if ((!best.boxes || !best.boxes.length) && a.boxes && a.boxes.length) best.boxes = a.boxes;
  }
  return best || (ev && ev.alert);
}

function drawBoxes(boxes) {
  const layer = $('snap-boxes');
  layer.textContent = '';
  for (const b of boxes || []) {
    if (!Array.isArray(b) || b.length < 4) continue;
    const [x, y, w, h] = b.map(Number);
    if ([x, y, w, h].some(function (v) { return !isFinite(v); })) continue;
    const d = el('div', { class: 'box' });
    // CSSOM, not style attributes: allowed under style-src 'self'
    d.style.left = (x * 100) + '%';
    d.style.top = (y * 100) + '%';
    d.style.width = (w * 100) + '%';
    d.style.height = (h * 100) + '%';
    layer.appendChild(d);
  }
}

async function showReplay(key) {
  const video = $('replay-video');
  const errp = $('replay-error');
  errp.hidden = true;
  $('replay-title').textContent = 'Replay';
  $('replay-meta').textContent = '';
  drawBoxes([]);
  let a;
  try { a = await findAlert(key); } catch (e) { a = null; }
  if (V.view !== 'replay') return;
  if (!a) {
    errp.textContent = 'No such alert.';
    errp.hidden = false;
    return;
  }
  $('view-replay').dataset.key = key;
  $('replay-title').textContent = (a.name || a.camera || '') + ' — ' + (a.type || '');
  $('replay-meta').textContent = fmtTime(a.ts) + ' · ' + (a.severity || '') + ' · ' +
    (a.district || '—') + ' / ' + (a.grid || '—') + ' · zone ' +
    (a.zone === null || a.zone === undefined ? 'whole picture' : a.zone) + ' · ' + (a.camera || '');
  if (a.clip) {
    const url = mediaUrl(a.node, 'clips', a.clip);
    if (video.getAttribute('src') !== url) {
      video.src = url;
      video.load();
    }
    V.replay = { key: key, url: url, follows: 0 };
    $('replay-download').href = url;
    $('replay-download').setAttribute('download', a.clip.split('/').pop());
    $('replay-download').hidden = false;
    video.hidden = false;
    const p = video.play();
    if (p && p.catch) p.catch(function () { /* needs a click */ });
  } else {
    video.removeAttribute('src');
    video.hidden = true;
    $('replay-download').hidden = true;
    errp.textContent = 'This alert has no clip.';
    errp.hidden = false;
  }
  const img = $('replay-snapshot');
  if (a.snapshot) {
    const surl = mediaUrl(a.node, 'clips', a.snapshot);
    img.src = surl;
    img.hidden = false;
    $('snapshot-download').href = surl;
    $('snapshot-download').hidden = false;
    drawBoxes(a.boxes);
  } else {
    img.removeAttribute('src');
    img.hidden = true;
    $('snapshot-download').hidden = true;
  }
}

function leaveReplay() {
  const video = $('replay-video');
  if (!video.paused) video.pause();
  V.replay = null;
}

/* A clip still being recorded is served up to its last complete
 * fragment: when playback reaches that end while the event goes on (or
 * has just ended: the post-roll is still being written), load it again
 * and carry on from the same place. */
function eventActive(key) {
  const ev = V.events.get(key);
  if (!ev) return false;
  if (ev.alert.phase !== 'end') return true;
  const t = parseTime(ev.alert.received || ev.alert.ts);
  return !isNaN(t) && Date.now() - t < 15000;
}

function followRecording() {
  const video = $('replay-video');
  const r = V.replay;
  if (!r || V.view !== 'replay' || r.follows >= 120 || !eventActive(r.key)) return;
  r.follows++;
  const at = video.currentTime;
  setTimeout(function () {
    if (V.replay !== r) return;
    video.addEventListener('loadedmetadata', function () {
      video.currentTime = at;
      const p = video.play();
      if (p && p.catch) p.catch(function () {});
    }, { once: true });
    video.src = r.url;
    video.load();
  }, 1000);
}

/* ---------- camera wall ---------- */

const STATE_ORDER = { down: 0, connecting: 1 };

function stateRank(s) {
  if (s in STATE_ORDER) return STATE_ORDER[s];
  return s === 'streaming' ? 3 : 2;      // unknown states before the healthy ones
}

/* The newest alert the console has for a camera (an alert object), else
 * the node's own time of its last alert, else none. */
function lastAlert(c) {
  const a = c.last_alert && typeof c.last_alert === 'object' ? c.last_alert : null;
  const ts = a ? a.ts : (typeof c.last_alert === 'string' ? c.last_alert : c.last_alert_ts);
  const span = el('span', { class: 'last-alert', title: ts || '',
    text: 'last alert ' + (ts ? fmtTime(ts) : 'none') + (a && a.type ? ' · ' + a.type : '') });
  if (a && a.key && (a.clip || a.snapshot)) {
    span.appendChild(document.createTextNode(' '));
    span.appendChild(el('a', { href: '#replay/' + encodeURIComponent(a.key), text: 'replay' }));
  }
  return span;
}

/* One card per camera, kept across refreshes (a picture being shown or
 * loading stays); its text is rewritten, its place follows the order. */
const wallCards = new Map();    // node + '/' + id -> {card, info}

function wallCard(c) {
  const id = (c.node || '') + '/' + (c.id || '');
  let w = wallCards.get(id);
  if (w) return w;
  const card = el('div', { dataset: { camera: c.id || '', node: c.node || '' } });
  const info = el('div', { class: 'cam-info' });
  const pic = el('div', { class: 'picture' });
  const btn = el('button', { type: 'button', class: 'picture-btn', text: 'Latest picture' });
  btn.addEventListener('click', function () {
    pic.textContent = '';
    const img = el('img', { alt: 'latest picture of ' + (c.name || c.id),
      src: mediaUrl(c.node, 'picture', (c.id || '') + '.jpg') + '?t=' + Date.now() });
    img.addEventListener('error', function () {
      pic.textContent = '';
      pic.appendChild(el('span', { class: 'error', text: 'no picture' }));
    });
    pic.appendChild(img);
    card.dataset.picture = '1';
  });
  card.appendChild(info);
  card.appendChild(btn);
  card.appendChild(pic);
  w = { card: card, info: info };
  wallCards.set(id, w);
  return w;
}

async function loadWall() {
  let r;
  try { r = await api('/api/cameras'); } catch (e) {
    $('wall-summary').textContent = 'camera list unavailable: ' + e.message;
    return;
  }
  const cams = ((r.data && r.data.cameras) || []).slice();
  cams.sort(function (a, b) {
    return stateRank(a.state) - stateRank(b.state) ||
      String(a.name || a.id).localeCompare(String(b.name || b.id));
  });
  const wall = $('wall');
  const keep = new Set();
  const counts = {};
  for (const c of cams) {
    counts[c.state] = (counts[c.state] || 0) + 1;
    const w = wallCard(c);
    keep.add(w.card);
    w.card.className = 'camera state-' + String(c.state || 'unknown').replace(/[^a-z_-]/gi, '');
    w.card.dataset.state = c.state || '';
    w.info.textContent = '';
    w.info.appendChild(el('div', { class: 'cam-head' }, [
      el('span', { class: 'state', text: c.state || 'unknown' }),
      el('span', { class: 'cam-name', text: c.name || c.id || '' }),
    ]));
    w.info.appendChild(el('div', { class: 'cam-meta muted' }, [
      el('span', { text: (c.id || '') + ' · ' + (c.district || '—') + ' / ' + (c.grid || '—') +
        ' · ' + (c.site || '—') + (c.node ? ' · ' + c.node : '') }),
    ]));
    w.info.appendChild(el('div', { class: 'cam-figs' }, [
      el('span', { class: 'fps', text: (c.fps !== undefined && c.fps !== null
        ? Number(c.fps).toFixed(1) : '—') + ' fps' }),
      lastAlert(c),
    ]));
    wall.appendChild(w.card);       // moves it to its place in the order
  }
  for (const [id, w] of wallCards) {
    if (!keep.has(w.card)) {
      w.card.remove();
      wallCards.delete(id);
    }
  }
  const unreachable = (r.data && r.data.unreachable) || [];
  $('wall-unreachable').textContent = unreachable.length
    ? 'Not answering: ' + unreachable.join(', ') + ' (their cameras are missing here)' : '';
  $('wall-summary').textContent = cams.length + ' cameras: ' +
    Object.keys(counts).sort(function (a, b) { return stateRank(a) - stateRank(b); })
      .map(function (k) { return counts[k] + ' ' + k; }).join(', ');
  wall.dataset.loaded = String(Date.now());
}

/* ---------- response panel ---------- */

async function loadResponse() {
  let r;
  try { r = await api('/api/stats/response'); } catch (e) {
    $('response-updated').textContent = 'figures unavailable: ' + e.message;
    return;
  }
  const d = r.data || {};
  const targets = (V.me && V.me.response_targets) || {};
  const body = $('response-body');
  body.textContent = '';
  for (const cls of ['key', 'public', 'normal']) {
    const tr = el('tr', { dataset: { site: cls } }, [
      el('th', { text: cls }),
      el('td', { class: 'target', text: targets[cls] !== undefined ? fmtTarget(targets[cls]) : '—' }),
    ]);
    for (const span of ['today', 'week']) {
      const s = (d[span] && d[span][cls]) || {};
      const n = s.n || 0;
      tr.appendChild(el('td', { class: span + ' n', text: String(n) }));
      tr.appendChild(el('td', { class: span + ' median', text: n ? fmtSecs(s.median_s) : '—' }));
      tr.appendChild(el('td', { class: span + ' p90', text: n ? fmtSecs(s.p90_s) : '—' }));
      tr.appendChild(el('td', { class: span + ' within', text: fmtShare(s.within_target, n) }));
    }
    body.appendChild(tr);
  }
  $('response-updated').textContent = 'updated ' + fmtTime(new Date().toISOString());
  body.dataset.loaded = String(Date.now());
}

/* ---------- search ---------- */

function isoFromLocal(v) {
  if (!v) return '';
  const t = new Date(v);          // datetime-local: the browser's time zone
  return isNaN(t) ? '' : t.toISOString();
}

async function runSearch(ev) {
  if (ev) ev.preventDefault();
  const q = new URLSearchParams();
  const add = function (k, v) { if (v) q.set(k, v); };
  add('camera', $('s-camera').value.trim());
  add('district', $('s-district').value.trim());
  add('type', $('s-type').value.trim());
  add('from', isoFromLocal($('s-from').value));
  add('to', isoFromLocal($('s-to').value));
  q.set('limit', '500');
  const status = $('search-status');
  status.textContent = 'searching…';
  const tbody = $('search-results');
  let r;
  try { r = await api('/api/alerts?' + q.toString()); } catch (e) {
    status.textContent = 'search failed: ' + e.message;
    return;
  }
  const list = (r.data && r.data.alerts) || [];
  tbody.textContent = '';
  for (const a of list) {
    const ack = a.ack;
    tbody.appendChild(el('tr', { class: 'sev-' + (a.severity || 'unknown'),
      dataset: { key: a.key || '', camera: a.camera || '' } }, [
      el('td', { title: a.ts || '', text: fmtTime(a.ts) }),
      el('td', { class: 'sev', text: a.severity || '' }),
      el('td', { title: a.camera || '', text: a.name || a.camera || '' }),
      el('td', { text: (a.district || '—') + ' / ' + (a.grid || '—') }),
      el('td', { text: a.zone === null || a.zone === undefined ? '—' : a.zone }),
      el('td', { text: a.type || '' }),
      el('td', { text: a.phase || '' }),
      el('td', { text: ack ? ack.user + ' ' + fmtTime(ack.at) : 'no' }),
      el('td', {}, [a.clip || a.snapshot
        ? el('a', { href: '#replay/' + encodeURIComponent(a.key || ''), text: 'Replay' }) : null]),
    ]));
  }
  status.textContent = list.length + ' alert' + (list.length === 1 ? '' : 's') +
    (list.length >= 500 ? ' (first 500)' : '');
  tbody.dataset.loaded = String(Date.now());
}

/* ---------- views ---------- */

function route() {
  const h = window.location.hash.replace(/^#/, '');
  let view = 'live', arg = '';
  if (h.startsWith('replay/')) {
    view = 'replay';
    try { arg = decodeURIComponent(h.slice(7)); } catch (e) { arg = ''; }
  } else if (['live', 'wall', 'response', 'search'].includes(h)) {
    view = h;
  }
  if (V.view === 'replay' && view !== 'replay') leaveReplay();
  V.view = view;
  for (const s of document.querySelectorAll('section.view')) s.hidden = s.dataset.view !== view;
  for (const a of document.querySelectorAll('#tabs a')) {
    a.classList.toggle('active', a.dataset.view === view);
  }
  document.body.dataset.view = view;
  clearInterval(V.wallTimer);
  clearInterval(V.responseTimer);
  if (view === 'wall') {
    loadWall();
    V.wallTimer = setInterval(loadWall, 5000);
  } else if (view === 'response') {
    loadResponse();
    V.responseTimer = setInterval(loadResponse, 10000);
  } else if (view === 'replay') {
    showReplay(arg);
  }
}

async function start() {
  let me;
  try { me = await api('/api/me'); } catch (e) { return; }
  V.me = me.data;
  $('who').textContent = V.me.user + ' (' + V.me.role + ')' +
    (V.me.districts && V.me.districts.length ? ' · ' + V.me.districts.join(', ') : '');
  for (const d of V.me.districts || []) {
    if (!V.seen.district.has(d)) { V.seen.district.add(d); addOption($('f-district'), d); }
  }
  readFilters();
  $('filters').addEventListener('change', applyFilters);
  $('filters').addEventListener('submit', function (e) { e.preventDefault(); });
  $('search-form').addEventListener('submit', runSearch);
  $('logout').addEventListener('click', async function () {
    try { await api('/api/logout', { body: {}, allow: true }); } catch (e) { /* leaving anyway */ }
    goLogin();
  });
  $('sound-toggle').addEventListener('click', function () {
    V.soundOn = !V.soundOn;
    $('sound-toggle').textContent = V.soundOn ? 'Sound on' : 'Sound off';
    unlockAudio();
  });
  document.addEventListener('click', unlockAudio, { capture: true });
  document.addEventListener('keydown', unlockAudio, { capture: true });
  window.addEventListener('hashchange', route);
  $('replay-video').addEventListener('ended', followRecording);
  connectEvents();
  try { await loadRecent(); } catch (e) { /* the stream still runs */ }
  setInterval(escalationTick, 1000);
  route();
  document.body.dataset.ready = '1';
}

document.addEventListener('DOMContentLoaded', start);
