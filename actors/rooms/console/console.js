// wcc operator console: the admin API (bearer token) and the live feed (a websocket from
// /console/config.json), rendered panel by panel. Server text is untrusted: it only ever goes
// into textContent, never parsed as markup.
(function () {
  'use strict';

  const TOKEN_KEY = 'wcc-console-token';
  const LIMITS = {
    events: 200, // lattice events listed
    messages: 1000, // messages kept in the live view
    history: 100, // messages of the room's history shown on selecting it
    healthWindowMs: 10 * 60 * 1000, // chart span and sample lifetime
    healthSamples: 720, // per gateway: 10 minutes at one beat every 5 s, with room to spare
    gateways: 32, // gateways tracked at once
    peopleEveryMs: 1000, // at most one /online refresh per second
    toastMs: 8000,
    noticeMs: 4000,
  };
  const BACKOFF = { firstMs: 500, maxMs: 30000 };
  const SERIES = 6; // colours in console.css (.series-0 … .series-5)
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const OPERATOR = 'operator'; // wcc's reserved id of the consoles' own feed sessions

  const state = {
    token: null,
    rooms: [],
    room: null, // id of the selected room
    direct: false, // whether it is a user's direct room (their direct messages), not a listed room
    messages: new Map(), // event id -> <li> of the selected room
    people: { timer: null, lastMs: 0 },
    health: new Map(), // gateway -> { samples: [...], intervalMs }
    toastTimer: null,
    noticeTimer: null,
  };

  const feed = {
    url: null,
    ws: null,
    ready: false, // authenticated
    watching: null, // the room asked for
    retryMs: BACKOFF.firstMs,
    timer: null,
    stopped: true,
    generation: 0, // bumped on stop, so a connect still awaiting its config gives up
  };

  const $ = (id) => document.getElementById(id);

  // ---- small DOM helpers ----

  /** An element with a class, text and attributes; never parses markup. */
  function el(tag, cls, text, attrs) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Makes `parent`'s children match `items` by key, reusing nodes (so open details survive). */
  function reconcile(parent, items, keyOf, attr, create, update) {
    const existing = new Map();
    for (const child of Array.from(parent.children)) existing.set(child.getAttribute(attr), child);
    items.forEach((item, index) => {
      const key = keyOf(item);
      let node = existing.get(key);
      if (node) existing.delete(key);
      else {
        node = create(item);
        node.setAttribute(attr, key);
      }
      update(node, item);
      if (parent.children[index] !== node) parent.insertBefore(node, parent.children[index] || null);
    });
    for (const stale of existing.values()) stale.remove();
  }

  const timeText = (ms) => new Date(ms).toLocaleTimeString();
  const clip = (text, max) => (text.length > max ? text.slice(0, max - 1) + '…' : text);

  /** Shows a moment in a <time>: `text` for people, ISO 8601 for machines. */
  function setTime(node, ms, text) {
    node.textContent = text;
    node.setAttribute('datetime', new Date(ms).toISOString());
  }

  // ---- messages to the operator ----

  function toast(text) {
    const box = $('toast');
    box.textContent = text;
    box.hidden = false;
    clearTimeout(state.toastTimer);
    state.toastTimer = setTimeout(() => { box.hidden = true; }, LIMITS.toastMs);
  }

  function notice(text) {
    const box = $('notice');
    box.textContent = text;
    clearTimeout(state.noticeTimer);
    state.noticeTimer = setTimeout(() => { box.textContent = ''; }, LIMITS.noticeMs);
  }

  /** Shows an action's failure; a refused token has already sent the operator to sign in. */
  function report(error) {
    if (error && error.refused) return;
    toast(error && error.message ? error.message : String(error));
  }

  /** Runs an async action for an event, disabling `button` meanwhile and reporting failures. */
  async function run(button, action) {
    if (button) button.disabled = true;
    try {
      await action();
    } catch (error) {
      report(error);
    } finally {
      if (button) button.disabled = false;
    }
  }

  // ---- api ----

  class ApiError extends Error {
    constructor(message, status, refused) {
      super(message);
      this.status = status;
      this.refused = refused;
    }
  }

  function path(...parts) {
    return '/' + parts.map((part) => encodeURIComponent(part)).join('/');
  }

  /** Calls the admin API with the bearer token; resolves to the parsed JSON body (or null). */
  async function api(method, url, body) {
    const headers = { Authorization: 'Bearer ' + state.token };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new ApiError(`${method} ${url}: the server cannot be reached`, 0, false);
    }
    const data = await readJson(response);
    if (response.status === 401) {
      signOut('token refused');
      throw new ApiError('token refused', 401, true);
    }
    if (!response.ok) {
      const why = data && (data.message || data.error) ? data.message || data.error : response.statusText;
      throw new ApiError(`${method} ${url}: ${response.status} ${why}`, response.status, false);
    }
    return data;
  }

  async function readJson(response) {
    const text = await response.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch (error) {
      return { message: clip(text, 200) };
    }
  }

  // ---- sign-in ----

  async function signIn(token) {
    state.token = token;
    $('sign-in-error').textContent = '';
    const rooms = await api('GET', '/rooms'); // proves the token before anything is shown
    sessionStorage.setItem(TOKEN_KEY, token);
    $('sign-in').hidden = true;
    $('console').hidden = false;
    $('sign-out').hidden = false;
    $('token').value = '';
    renderRooms(rooms);
    refreshPeople();
    startFeed();
  }

  function signOut(reason) {
    stopFeed();
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    clearTimeout(state.people.timer);
    state.people.timer = null;
    selectRoom(null);
    state.health.clear();
    renderHealth();
    for (const id of ['events', 'people', 'online-counts']) $(id).replaceChildren();
    for (const id of ['user-detail', 'console', 'sign-out']) $(id).hidden = true;
    $('sign-in').hidden = false;
    $('sign-in-error').textContent = reason || '';
    $('token').focus();
  }

  /** Signs in, showing on the form why not (a refused token is shown by the sign-out). */
  function attemptSignIn(token) {
    run($('sign-in-button'), () => signIn(token).catch((error) => {
      if (error.refused) return;
      state.token = null;
      $('sign-in-error').textContent = error.message;
    }));
  }

  function onSignInSubmit(event) {
    event.preventDefault();
    const token = $('token').value.trim();
    if (token) attemptSignIn(token);
  }

  // ---- feed ----

  function setFeedStatus(text, retryText) {
    const status = $('feed-status');
    status.textContent = text;
    status.classList.toggle('live', text === 'live');
    $('feed-retry').textContent = retryText || '';
  }

  /** Where the feed is; a listener on every interface is reached at this page's host. */
  async function feedUrl() {
    const response = await fetch('/console/config.json', { cache: 'no-store' });
    const data = await readJson(response);
    if (!response.ok || !data || typeof data.feed !== 'string') {
      throw new Error('no live feed configured: ' + ((data && (data.message || data.error)) || response.status));
    }
    const url = new URL(data.feed, location.href);
    if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = location.hostname;
    return url.href;
  }

  function startFeed() {
    feed.stopped = false;
    feed.retryMs = BACKOFF.firstMs;
    connectFeed();
  }

  function stopFeed() {
    feed.stopped = true;
    feed.generation += 1;
    clearTimeout(feed.timer);
    if (feed.ws) feed.ws.close(1000, 'signed out');
    forgetSocket();
    setFeedStatus('offline');
  }

  async function connectFeed() {
    if (feed.stopped) return;
    const generation = feed.generation;
    setFeedStatus('connecting…');
    let ws;
    try {
      feed.url = feed.url || (await feedUrl());
      if (generation !== feed.generation) return;
      ws = new WebSocket(feed.url);
    } catch (error) {
      if (generation !== feed.generation) return;
      toast(`live feed: ${error.message}`);
      feed.url = null; // read the config again: it may have been fixed
      scheduleReconnect();
      return;
    }
    feed.ws = ws;
    ws.onopen = () => sendFeed({ type: 'auth', token: state.token });
    ws.onmessage = (message) => onFeedFrame(message.data);
    ws.onclose = () => onFeedClosed(ws);
  }

  function onFeedClosed(ws) {
    if (feed.ws !== ws) return; // a socket already replaced or stopped
    forgetSocket();
    if (feed.stopped) return setFeedStatus('offline');
    scheduleReconnect();
  }

  function forgetSocket() {
    feed.ws = null;
    feed.ready = false;
    feed.watching = null;
  }

  /** Tries again after a doubling, jittered delay (reset once the feed is live). */
  function scheduleReconnect() {
    if (feed.stopped) return;
    const delay = Math.round(feed.retryMs * (0.75 + Math.random() / 2));
    feed.retryMs = Math.min(feed.retryMs * 2, BACKOFF.maxMs);
    setFeedStatus('offline', `(retrying in ${Math.ceil(delay / 1000)} s)`);
    clearTimeout(feed.timer);
    feed.timer = setTimeout(connectFeed, delay);
  }

  function sendFeed(frame) {
    if (feed.ws && feed.ws.readyState === WebSocket.OPEN) feed.ws.send(JSON.stringify(frame));
  }

  function onFeedFrame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (error) {
      return; // not ours to show: the feed only speaks JSON
    }
    switch (frame && frame.type) {
      case 'ready': return onFeedReady();
      case 'watching': return onWatching(frame.room);
      case 'event': return onEvent(frame.event);
      case 'error': return onFeedError(frame);
      default: return undefined; // unwatched, and anything newer than this page
    }
  }

  function onFeedReady() {
    feed.ready = true;
    feed.retryMs = BACKOFF.firstMs;
    setFeedStatus('live');
    syncWatch();
    // Logins and logouts while the feed was down were not heard.
    refreshPeople();
  }

  function onFeedError(frame) {
    if (frame.code === 'unauthorized') {
      feed.stopped = true; // the same token again would be refused again
      toast('the live feed refused the token: ' + (frame.message || ''));
      return;
    }
    toast(`live feed: ${frame.code || 'error'}: ${frame.message || ''}`);
  }

  /** Watches the selected room (and only it) once the feed is live. */
  function syncWatch() {
    if (!feed.ready || feed.watching === state.room) return;
    if (feed.watching) sendFeed({ type: 'unwatch', room: feed.watching });
    if (state.room) sendFeed({ type: 'watch', room: state.room });
    feed.watching = state.room;
  }

  /** History loads once the room is watched, so nothing published in between is missed. */
  function onWatching(room) {
    if (room === state.room) loadHistory(room).catch(report);
  }

  function onEvent(envelope) {
    if (!envelope || typeof envelope.type !== 'string') return;
    const data = envelope.data || {};
    logEvent(envelope);
    switch (envelope.type) {
      case 'MessagePublished':
      case 'MessageUpdated':
        // Only an update replaces what is shown: a publish is the message's first version.
        if (data.message && data.message.room === state.room) upsertMessage(data.message, envelope.type === 'MessageUpdated');
        break;
      case 'UserJoined':
      case 'UserLeft':
        if (data.room === state.room) loadMembers(state.room).catch(report);
        break;
      case 'UserLoggedIn':
      case 'UserLoggedOut':
        refreshPeopleSoon();
        break;
      case 'GatewayAlive':
        recordBeat(data, envelope.at);
        renderHealth();
        break;
      default:
        break;
    }
  }

  // ---- rooms ----

  async function loadRooms() {
    renderRooms(await api('GET', '/rooms'));
  }

  function renderRooms(rooms) {
    state.rooms = Array.isArray(rooms) ? rooms : [];
    reconcile($('rooms'), state.rooms, (room) => room.id, 'data-room', createRoomItem, updateRoomItem);
    const selected = state.rooms.find((room) => room.id === state.room);
    if (state.room && !selected && !state.direct) selectRoom(null);
    else if (selected) renderRoomHeader(selected);
  }

  function createRoomItem() {
    const pick = el('button', 'pick', null, { type: 'button' });
    pick.append(el('span', 'name'), ' ', el('span', 'meta'));
    const li = el('li');
    li.append(pick);
    return li;
  }

  function updateRoomItem(li, room) {
    li.querySelector('.name').textContent = room.name || room.id;
    li.querySelector('.meta').textContent = `${room.id} · ${room.kind || 'room'}`;
    markSelected(li);
  }

  function markSelected(li) {
    const selected = li.getAttribute('data-room') === state.room;
    li.classList.toggle('selected', selected);
    li.querySelector('.pick').setAttribute('aria-pressed', String(selected));
  }

  function onRoomsClick(event) {
    const li = event.target.closest('li[data-room]');
    if (li) selectRoom(li.getAttribute('data-room'));
  }

  // `direct`: the room is a user's direct room (named by their id), which no room list shows.
  function selectRoom(id, direct = false) {
    if (id === state.room && direct === state.direct) return;
    state.room = id;
    state.direct = direct;
    state.messages.clear();
    $('messages').replaceChildren();
    for (const li of $('rooms').children) markSelected(li);
    $('room').hidden = !id;
    $('live').hidden = !id;
    syncWatch();
    if (!id) return;
    const room = direct ? { id, name: `Direct messages of ${id}`, kind: 'direct' } : roomById(id);
    renderRoomHeader(room);
    // A direct room is its owner's: it has no name to change, no join rule, no broadcast.
    for (const part of ['rename-form', 'rule-heading', 'rule-current', 'rule-form', 'broadcast-heading', 'broadcast-form']) $(part).hidden = direct;
    $('rename-name').value = room.name || '';
    loadMembers(id).catch(report);
    loadRule(id).catch(report);
    // Loaded now, and again once the feed confirms the watch (closing any gap in between).
    loadHistory(id).catch(report);
  }

  function roomById(id) {
    return state.rooms.find((room) => room.id === id) || { id, name: id };
  }

  function renderRoomHeader(room) {
    $('room-title').textContent = room.name || room.id;
    $('room-id').textContent = room.id;
    $('room-kind').textContent = room.kind || 'room';
  }

  async function createRoom() {
    const id = $('new-room-id').value.trim();
    const name = $('new-room-name').value.trim();
    const body = name ? { id, name } : { id };
    await api('POST', '/rooms', body);
    $('new-room-id').value = '';
    $('new-room-name').value = '';
    notice(`room ${id} created`);
    await loadRooms();
  }

  async function renameRoom() {
    const id = state.room;
    const name = $('rename-name').value.trim();
    await api('PATCH', path('rooms', id), { name });
    notice(`room ${id} renamed`);
    await loadRooms();
  }

  async function deleteRoom() {
    const id = state.room;
    if (!id || !confirm(`Delete room ${id} and its messages?`)) return;
    await api('DELETE', path('rooms', id));
    notice(`room ${id} deleted`);
    selectRoom(null);
    await loadRooms();
  }

  // ---- the selected room: members, join rule, broadcast ----

  async function loadMembers(id) {
    const members = await api('GET', path('rooms', id, 'members'));
    if (id === state.room) renderMembers(members || []);
  }

  function renderMembers(members) {
    reconcile($('members'), members, (member) => member.user, 'data-user', createMemberItem, (li, member) => {
      li.querySelector('.user').textContent = member.user;
      setTime(li.querySelector('time'), member.joined_at, 'joined ' + new Date(member.joined_at).toLocaleString());
    });
  }

  function createMemberItem() {
    const li = el('li', 'member');
    li.append(el('span', 'user'), ' ', el('time', 'muted'));
    return li;
  }

  async function loadRule(id) {
    const rule = await api('GET', path('rooms', id, 'authentication'));
    if (id !== state.room) return;
    const has = rule && rule.key !== null && rule.key !== undefined;
    $('rule-current').textContent = has ? `Current rule: ${rule.key} = ${JSON.stringify(rule.value)}` : 'No join rule: anyone may join.';
    $('rule-key').value = has ? rule.key : '';
    $('rule-value').value = has ? (typeof rule.value === 'string' ? rule.value : JSON.stringify(rule.value)) : '';
  }

  /** The rule's value: JSON when it parses as JSON, else the text itself. */
  function ruleValue(text) {
    try {
      return JSON.parse(text);
    } catch (error) {
      return text;
    }
  }

  async function setRule() {
    const id = state.room;
    await api('PUT', path('rooms', id, 'authentication'), { key: $('rule-key').value.trim(), value: ruleValue($('rule-value').value) });
    await loadRule(id);
  }

  async function clearRule() {
    const id = state.room;
    await api('DELETE', path('rooms', id, 'authentication'));
    await loadRule(id);
  }

  async function broadcast() {
    const id = state.room;
    const message = await api('POST', path('rooms', id, 'broadcast'), { message: $('broadcast-text').value });
    $('broadcast-text').value = '';
    if (message && message.room === state.room) upsertMessage(message, false);
  }

  // ---- messages of the selected room ----

  async function loadHistory(id) {
    const messages = await api('GET', `${path('rooms', id, 'messages')}?limit=${LIMITS.history}`);
    if (id !== state.room || !Array.isArray(messages)) return;
    for (const message of messages) upsertMessage(message, false);
  }

  /** The text of a message: its body, text or message field, else its JSON. */
  function bodyText(message) {
    if (message.event_type === 'message.removed') return 'removed';
    const content = message.content;
    if (content && typeof content === 'object') {
      for (const field of ['body', 'text', 'message']) {
        if (typeof content[field] === 'string') return content[field];
      }
    }
    return JSON.stringify(content);
  }

  /**
   * Adds a message in event-id order, or with `updated` replaces the one shown. History and
   * publishes never overwrite a shown message: an update (the newer version) may have come first.
   */
  function upsertMessage(message, updated) {
    const id = Number(message.event_id);
    if (!Number.isFinite(id)) return;
    const existing = state.messages.get(id);
    if (existing) {
      if (updated) renderMessage(existing, message, true);
      return;
    }
    const list = $('messages');
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    const li = createMessageItem(id);
    renderMessage(li, message, false);
    const next = messageAfter(list, id);
    list.insertBefore(li, next);
    state.messages.set(id, li);
    trimMessages();
    if (atBottom && !next) list.scrollTop = list.scrollHeight;
  }

  /** The first shown message with a greater event id (usually none: new ones come last). */
  function messageAfter(list, id) {
    const last = list.lastElementChild;
    if (!last || Number(last.getAttribute('data-event-id')) < id) return null;
    for (const other of list.children) {
      if (Number(other.getAttribute('data-event-id')) > id) return other;
    }
    return null;
  }

  function createMessageItem(id) {
    const li = el('li', 'message', null, { 'data-event-id': String(id) });
    const meta = el('span', 'meta');
    meta.append(el('span', 'sender'), ' ', el('span', 'channel'), ' ', el('time'));
    li.append(meta, el('span', 'body'), el('button', 'remove', 'remove', { type: 'button', 'aria-label': `remove message ${id}` }));
    return li;
  }

  function renderMessage(li, message, updated) {
    const removed = message.event_type === 'message.removed';
    // A removal carries no sender: keep showing who wrote it.
    if (message.sender || !li.querySelector('.sender').textContent) {
      li.querySelector('.sender').textContent = message.sender || '—';
    }
    li.querySelector('.channel').textContent = message.channel || '';
    setTime(li.querySelector('time'), message.sent_at, timeText(message.sent_at));
    li.querySelector('.body').textContent = bodyText(message);
    li.classList.toggle('removed', removed);
    li.classList.toggle('edited', updated && !removed);
    li.querySelector('.remove').hidden = removed;
  }

  /** Keeps the live view bounded, dropping the oldest messages. */
  function trimMessages() {
    const list = $('messages');
    while (state.messages.size > LIMITS.messages && list.firstElementChild) {
      const first = list.firstElementChild;
      state.messages.delete(Number(first.getAttribute('data-event-id')));
      first.remove();
    }
  }

  async function onMessagesClick(event) {
    const button = event.target.closest('button.remove');
    if (!button) return;
    const eventId = button.closest('li[data-event-id]').getAttribute('data-event-id');
    const id = state.room;
    if (!confirm(`Remove message ${eventId} for everyone?`)) return;
    await run(button, async () => {
      const message = await api('DELETE', path('rooms', id, 'messages', eventId));
      if (message && id === state.room) upsertMessage(message, true);
    });
  }

  // ---- lattice events ----

  function logEvent(envelope) {
    if (envelope.type === 'GatewayAlive' && !$('show-heartbeats').checked) return;
    const list = $('events');
    let text;
    try {
      text = summary(envelope.type, envelope.data || {});
    } catch (error) {
      text = JSON.stringify(envelope.data); // a shape this page does not know
    }
    const li = el('li', null, null, { 'data-type': envelope.type });
    li.append(el('time', null, timeText(envelope.at || Date.now())), el('span', 'type', envelope.type),
      el('span', 'summary', clip(text, 200)));
    list.prepend(li);
    while (list.children.length > LIMITS.events) list.lastElementChild.remove();
  }

  function summary(type, d) {
    switch (type) {
      case 'UserLoggedIn': return `${d.user} on ${d.channel} (${d.connection})`;
      case 'UserLoggedOut': return `${d.user} left ${d.channel} (${d.connection})`;
      case 'GatewayAlive': return `${d.gateway}: ${d.stats ? d.stats.connections : '?'} connections`;
      case 'MessagePublished': return `${d.message.room}: ${d.message.sender} via ${d.message.channel}: ${bodyText(d.message)}`;
      case 'MessageUpdated': return `${d.message.room}: message ${d.message.event_id} ${d.message.event_type === 'message.removed' ? 'removed' : 'edited'}`;
      case 'UserJoined': return `${d.user} joined ${d.room} via ${d.channel}`;
      case 'UserLeft': return `${d.user} left ${d.room} via ${d.channel}`;
      case 'ReactionsChanged': return `${d.user} ${d.added ? 'added' : 'withdrew'} ${d.reaction} on ${d.room} message ${d.event_id}`;
      case 'Signal': return `${d.sender} ${d.kind} in ${d.room}`;
      case 'DirectoryChanged': return `${d.part} changed`;
      default: return JSON.stringify(d);
    }
  }

  // ---- people ----

  /** Re-reads who is online at most once a second, however many logins arrive. */
  function refreshPeopleSoon() {
    if (state.people.timer) return;
    const wait = Math.max(0, state.people.lastMs + LIMITS.peopleEveryMs - Date.now());
    state.people.timer = setTimeout(() => {
      state.people.timer = null;
      refreshPeople();
    }, wait);
  }

  function refreshPeople() {
    state.people.lastMs = Date.now();
    api('GET', '/online').then(renderPeople, report);
  }

  function renderPeople(online) {
    const users = Array.isArray(online) ? online : [];
    const counts = new Map();
    for (const user of users) for (const channel of new Set(user.channels || [])) counts.set(channel, (counts.get(channel) || 0) + 1);
    const channels = Array.from(counts.keys()).sort().map((channel) => ({ channel, n: counts.get(channel) }));
    reconcile($('online-counts'), channels, (c) => c.channel, 'data-channel', () => el('li'), (li, c) => {
      li.textContent = `${c.channel}: ${c.n}`;
    });
    reconcile($('people'), users, (u) => u.user, 'data-user', createPersonItem, (li, u) => {
      li.querySelector('.user').textContent = u.user;
      li.querySelector('.channels').textContent = (u.channels || []).join(', ');
      // Consoles (this one included) are listed, but an operator does not ban operators.
      for (const cls of ['direct', 'disconnect', 'ban', 'delete']) li.querySelector('.' + cls).hidden = u.user === OPERATOR;
    });
  }

  function createPersonItem() {
    const li = el('li', 'person');
    li.append(el('span', 'user'), el('span', 'channels'));
    for (const [cls, label] of [['sessions', 'sessions'], ['direct', 'direct messages'], ['disconnect', 'disconnect'], ['ban', 'ban'], ['delete', 'delete']]) {
      const quiet = cls === 'sessions' || cls === 'direct';
      li.append(el('button', quiet ? `quiet ${cls}` : `danger ${cls}`, label, { type: 'button' }));
    }
    li.append(el('ul', 'session-list'));
    return li;
  }

  const PERSON_ACTIONS = {
    sessions: showSessions,
    direct: (user) => selectRoom(user, true),
    disconnect: (user) => userAction(user, 'POST', 'disconnect', `Disconnect every session of ${user}?`, `${user} disconnected`),
    ban: (user) => userAction(user, 'PUT', 'ban', `Ban ${user} from the whole server?`, `${user} banned`),
    delete: (user) => userAction(user, 'DELETE', null, `Delete user ${user} for good?`, `${user} deleted`),
  };

  function onPeopleClick(event) {
    const button = event.target.closest('button');
    if (!button) return;
    const kind = Object.keys(PERSON_ACTIONS).find((name) => button.classList.contains(name));
    const li = button.closest('li[data-user]');
    if (kind && li) run(button, () => PERSON_ACTIONS[kind](li.getAttribute('data-user'), li));
  }

  async function userAction(user, method, what, question, done) {
    if (!confirm(question)) return;
    await api(method, what ? path('users', user, what) : path('users', user));
    notice(done);
    refreshPeopleSoon();
  }

  async function showSessions(user, li) {
    const list = li.querySelector('.session-list');
    if (list.children.length) return list.replaceChildren(); // a second click folds them
    const sessions = await api('GET', path('users', user, 'sessions'));
    const items = (sessions || []).map((s) => el('li', null, `${s.connection} · ${s.channel} · gateway ${s.gateway}`));
    list.replaceChildren(...(items.length ? items : [el('li', null, 'no live session')]));
  }

  async function lookupUser(user) {
    const [found, rooms, ban] = await Promise.all([
      api('GET', path('users', user)),
      api('GET', path('users', user, 'rooms')),
      api('GET', path('users', user, 'ban')),
    ]);
    $('user-detail-id').textContent = found.id;
    $('user-detail-banned').textContent = ban.banned ? 'yes' : 'no';
    const toggle = $('user-detail-ban');
    toggle.textContent = ban.banned ? 'Lift ban' : 'Ban';
    toggle.setAttribute('data-user', found.id);
    toggle.setAttribute('data-banned', String(ban.banned));
    $('user-detail-rooms').textContent = (rooms || []).map((room) => room.name || room.id).join(', ') || 'none';
    $('user-detail-profile').textContent = JSON.stringify(found.profile, null, 2);
    $('user-detail').hidden = false;
  }

  async function toggleBan() {
    const toggle = $('user-detail-ban');
    const user = toggle.getAttribute('data-user');
    const banned = toggle.getAttribute('data-banned') === 'true';
    if (!banned && !confirm(`Ban ${user} from the whole server?`)) return;
    await api(banned ? 'DELETE' : 'PUT', path('users', user, 'ban'));
    notice(banned ? `${user} may sign in again` : `${user} banned`);
    await lookupUser(user);
  }

  // ---- health ----

  /** Keeps one beat's figures, with rates from the previous beat of the same gateway. */
  function recordBeat(data, at) {
    const stats = data.stats;
    if (!data.gateway || !stats || !Number.isFinite(at)) return;
    if (!state.health.has(data.gateway)) state.health.set(data.gateway, { samples: [], intervalMs: 5000 });
    const gateway = state.health.get(data.gateway);
    gateway.intervalMs = data.interval_ms || gateway.intervalMs;
    const prev = gateway.samples[gateway.samples.length - 1];
    if (prev && at <= prev.at) return; // a late or repeated beat
    const seconds = prev ? (at - prev.at) / 1000 : 0;
    // A counter going down means the gateway restarted: no rate across that.
    const rate = (now, before, scale) => (prev && now >= before ? ((now - before) / seconds) * scale : null);
    gateway.samples.push({
      at,
      connections: stats.connections,
      deliveries: stats.deliveries,
      shed: stats.shed,
      rssBytes: stats.rss_bytes,
      cpuSeconds: stats.cpu_seconds,
      deliveriesPerSec: rate(stats.deliveries, prev && prev.deliveries, 1),
      cpuPercent: rate(stats.cpu_seconds, prev && prev.cpuSeconds, 100),
    });
    pruneHealth(at);
  }

  /** Drops samples older than the window, gateways with none left, and the quietest extras. */
  function pruneHealth(now) {
    for (const [id, gateway] of state.health) {
      const samples = gateway.samples;
      while (samples.length && (samples[0].at < now - LIMITS.healthWindowMs || samples.length > LIMITS.healthSamples)) samples.shift();
      if (!samples.length) state.health.delete(id);
    }
    while (state.health.size > LIMITS.gateways) {
      const quietest = Array.from(state.health).sort((a, b) => lastAt(a[1]) - lastAt(b[1]))[0][0];
      state.health.delete(quietest);
    }
  }

  const lastAt = (gateway) => gateway.samples[gateway.samples.length - 1].at;

  function renderHealth() {
    const gateways = Array.from(state.health.keys()).sort();
    const newest = Math.max(0, ...Array.from(state.health.values()).map(lastAt));
    renderHealthTable(gateways, newest);
    renderHealthChart(gateways, newest);
    reconcile($('health-legend'), gateways, (id) => id, 'data-gateway', () => el('li'), (li, id) => {
      li.className = `series-${gateways.indexOf(id) % SERIES}`;
      li.textContent = id;
    });
  }

  function renderHealthTable(gateways, newest) {
    const fixed = (value, digits) => (value === null || value === undefined ? '—' : Number(value).toFixed(digits));
    reconcile($('health').tBodies[0], gateways, (id) => id, 'data-gateway', createHealthRow, (tr, id) => {
      const gateway = state.health.get(id);
      const last = gateway.samples[gateway.samples.length - 1];
      const cells = {
        gateway: id,
        connections: last.connections,
        deliveries: last.deliveries,
        'deliveries-per-second': fixed(last.deliveriesPerSec, 1),
        shed: last.shed,
        'memory-mib': fixed(last.rssBytes / 1048576, 1),
        'cpu-percent': fixed(last.cpuPercent, 1),
        'last-beat': timeText(last.at),
      };
      for (const [field, value] of Object.entries(cells)) tr.querySelector(`[data-field="${field}"]`).textContent = String(value);
      tr.classList.toggle('stale', newest - last.at > 3 * gateway.intervalMs);
    });
  }

  function createHealthRow() {
    const tr = el('tr');
    tr.append(el('th', null, null, { scope: 'row', 'data-field': 'gateway' }));
    for (const field of ['connections', 'deliveries', 'deliveries-per-second', 'shed', 'memory-mib', 'cpu-percent', 'last-beat']) {
      tr.append(el('td', null, null, { 'data-field': field }));
    }
    return tr;
  }

  /** Two plots over the last 10 minutes: connections above, deliveries/s below. */
  function renderHealthChart(gateways, newest) {
    const chart = $('health-chart');
    const title = chart.querySelector('title');
    chart.replaceChildren(title);
    const plots = [
      { field: 'connections', label: 'connections', top: 16, height: 96 },
      { field: 'deliveriesPerSec', label: 'deliveries/s', top: 146, height: 96 },
    ];
    const box = { left: 40, right: 472 };
    const start = newest - LIMITS.healthWindowMs;
    const x = (at) => box.left + ((at - start) / LIMITS.healthWindowMs) * (box.right - box.left);
    for (const plot of plots) {
      const values = gateways.flatMap((id) => state.health.get(id).samples.map((s) => s[plot.field]).filter((v) => v !== null));
      const max = Math.max(1, ...values);
      const y = (v) => plot.top + plot.height - (v / max) * plot.height;
      const bottom = plot.top + plot.height;
      chart.append(
        svg('line', { class: 'axis', x1: box.left, y1: bottom, x2: box.right, y2: bottom }),
        svg('line', { class: 'axis', x1: box.left, y1: plot.top, x2: box.left, y2: bottom }),
        svg('text', { class: 'label', x: box.left + 4, y: plot.top - 4 }, `${plot.label} (max ${formatNumber(max)})`),
        svg('text', { class: 'label', x: box.left - 4, y: bottom, 'text-anchor': 'end' }, '0'));
      gateways.forEach((id, index) => {
        const points = state.health.get(id).samples
          .filter((s) => s[plot.field] !== null && s.at >= start)
          .map((s) => `${x(s.at).toFixed(1)},${y(s[plot.field]).toFixed(1)}`);
        if (points.length) chart.append(svg('polyline', { class: `line series-${index % SERIES}`, points: points.join(' ') }));
      });
    }
    chart.append(
      svg('text', { class: 'label', x: box.left, y: 258 }, '−10 min'),
      svg('text', { class: 'label', x: box.right, y: 258, 'text-anchor': 'end' }, newest ? timeText(newest) : 'now'));
  }

  const formatNumber = (value) => String(value >= 100 ? Math.round(value) : Math.round(value * 10) / 10);

  // ---- wiring ----

  /** A form's submit runs `action` with its submit button disabled meanwhile. */
  function onSubmit(formId, buttonId, action) {
    $(formId).addEventListener('submit', (event) => {
      event.preventDefault();
      run($(buttonId), action);
    });
  }

  function start() {
    $('sign-in').addEventListener('submit', onSignInSubmit);
    $('sign-out').addEventListener('click', () => signOut(''));
    $('toast').addEventListener('click', () => { $('toast').hidden = true; });
    $('rooms').addEventListener('click', onRoomsClick);
    $('messages').addEventListener('click', onMessagesClick);
    $('people').addEventListener('click', onPeopleClick);
    onSubmit('create-room-form', 'create-room', createRoom);
    onSubmit('rename-form', 'rename-room', renameRoom);
    onSubmit('rule-form', 'set-rule', setRule);
    onSubmit('broadcast-form', 'broadcast-button', broadcast);
    onSubmit('lookup-form', 'lookup-button', () => lookupUser($('lookup-id').value.trim()));
    $('delete-room').addEventListener('click', (e) => run(e.currentTarget, deleteRoom));
    $('clear-rule').addEventListener('click', (e) => run(e.currentTarget, clearRule));
    $('user-detail-ban').addEventListener('click', (e) => run(e.currentTarget, toggleBan));
    renderHealth();
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) attemptSignIn(saved);
    else $('token').focus();
  }

  start();
})();
