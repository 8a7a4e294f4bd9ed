// nsq-ts nsqadmin web UI: a small single-page app in plain JavaScript (no framework, no build
// step). It reads the globals the index page injects (BASE_PATH, IS_ADMIN, NSQLOOKUPD, VERSION,
// USER_AGENT), calls nsqadmin's JSON API, and draws its own charts: while a page is open it polls
// the API and plots message rate and depth over time as inline SVG.
(function () {
  'use strict';
  var base = BASE_PATH === '/' ? '' : BASE_PATH;
  var container = document.getElementById('container');
  var pollTimer = null;
  var POLL_MS = 5000;
  var MAX_POINTS = 120;
  var series = {}; // key -> [{t, depth, count}]

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; });
  }
  function fmt(n) { return Number(n).toLocaleString(); }
  function enc(s) { return encodeURIComponent(s); }

  function api(method, path, body) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, 20000);
    return fetch(base + path, {
      method: method,
      headers: { 'Accept': 'application/vnd.nsq; version=1.0', 'X-UserAgent': USER_AGENT, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctl.signal
    }).then(function (res) {
      clearTimeout(timer);
      return res.text().then(function (text) {
        var doc = {};
        try { doc = text === '' ? {} : JSON.parse(text); } catch (e) { doc = { message: text }; }
        if (!res.ok) throw new Error(doc.message || res.status + ' ' + res.statusText);
        return doc;
      });
    });
  }

  function nav() {
    document.getElementById('nav').innerHTML =
      '<a href="' + base + '/">Streams</a><a href="' + base + '/nodes">Nodes</a>' +
      '<a href="' + base + '/counter">Counter</a><a href="' + base + '/lookup">Lookup</a>' +
      '<span class="version">nsqadmin v' + esc(VERSION) + '</span>';
  }

  function notice(doc) {
    return doc && doc.message ? '<div class="alert warn">' + esc(doc.message) + '</div>' : '';
  }
  function showError(err) {
    container.innerHTML = '<div class="alert error">' + esc(err.message) + '</div>';
  }

  // --- charts -----------------------------------------------------------------------------------
  function record(key, depth, count) {
    var list = series[key] || (series[key] = []);
    list.push({ t: Date.now(), depth: depth, count: count });
    if (list.length > MAX_POINTS) list.shift();
  }
  function rates(list) {
    var out = [];
    for (var i = 1; i < list.length; i++) {
      var dt = (list[i].t - list[i - 1].t) / 1000;
      out.push(dt > 0 ? Math.max(0, (list[i].count - list[i - 1].count) / dt) : 0);
    }
    return out;
  }
  function svgChart(title, values, unit) {
    var w = 320, h = 90, pad = 4;
    var max = 1;
    values.forEach(function (v) { if (v > max) max = v; });
    var pts = values.map(function (v, i) {
      var x = values.length < 2 ? pad : pad + (i * (w - 2 * pad)) / (values.length - 1);
      var y = h - pad - (v / max) * (h - 2 * pad);
      return x.toFixed(1) + ',' + y.toFixed(1);
    }).join(' ');
    var last = values.length ? values[values.length - 1] : 0;
    return '<div class="chart"><h4>' + esc(title) + ': ' + esc(last.toFixed(unit === '/s' ? 2 : 0)) + esc(unit) +
      ' (max ' + esc(max.toFixed(unit === '/s' ? 2 : 0)) + ')</h4>' +
      '<svg width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" role="img" aria-label="' + esc(title) + '">' +
      '<rect x="0" y="0" width="' + w + '" height="' + h + '" fill="#fcfcfc" stroke="#eee"/>' +
      (values.length > 1 ? '<polyline fill="none" stroke="#1d6fb8" stroke-width="2" points="' + pts + '"/>' : '<text x="8" y="48" fill="#999" font-size="12">collecting samples…</text>') +
      '</svg></div>';
  }
  function charts(key) {
    var list = series[key] || [];
    return '<div class="charts">' +
      svgChart('Message rate', rates(list), '/s') +
      svgChart('Depth', list.map(function (p) { return p.depth; }), '') +
      '</div>';
  }

  // --- actions ----------------------------------------------------------------------------------
  function button(label, handler, danger) {
    return IS_ADMIN ? '<button data-act="' + esc(handler) + '"' + (danger ? ' class="danger"' : '') + '>' + esc(label) + '</button>' : '';
  }
  function wireActions(actions) {
    Array.prototype.forEach.call(container.querySelectorAll('[data-act]'), function (el) {
      el.addEventListener('click', function (ev) {
        ev.preventDefault();
        var a = actions[el.getAttribute('data-act')];
        if (!a || !window.confirm(a.confirm)) return;
        a.run().then(function (doc) {
          if (doc && doc.message) window.alert(doc.message);
          if (a.after) navigate(a.after); else route();
        }, function (err) { window.alert(err.message); });
      });
    });
  }

  // --- pages ------------------------------------------------------------------------------------
  function topicsPage() {
    return api('GET', '/api/topics').then(function (doc) {
      var topics = doc.topics || [];
      var html = '<h2>Topics</h2>' + notice(doc);
      if (topics.length === 0) return html + '<div class="alert info">No Topics Found</div>';
      html += '<table><tr><th class="name">Topic</th></tr>';
      topics.forEach(function (t) { html += '<tr><td class="name"><a href="' + base + '/topics/' + enc(t) + '">' + esc(t) + '</a></td></tr>'; });
      return html + '</table>';
    });
  }

  function e2e(stats) {
    var p = stats.e2e_processing_latency && stats.e2e_processing_latency.percentiles;
    if (!p) return '';
    return p.map(function (x) { return 'p' + (x.quantile * 100).toFixed(0) + '=' + (x.average / 1e6).toFixed(1) + 'ms'; }).join(' ');
  }

  function topicPage(topic) {
    return api('GET', '/api/topics/' + enc(topic)).then(function (t) {
      record('topic:' + topic, t.depth, t.message_count);
      var html = '<h2>Topic: ' + esc(topic) + (t.paused ? '<span class="label paused">paused</span>' : '') + '</h2>' + notice(t);
      html += button('Empty Queue', 'empty', true) + button('Delete Topic', 'delete', true) + button(t.paused ? 'UnPause Topic' : 'Pause Topic', 'pause');
      html += charts('topic:' + topic);
      var nodes = t.nodes || [];
      if (nodes.length === 0) html += '<div class="alert warn">No producers for this topic</div>';
      html += '<table><tr><th class="name">NSQd Host</th><th>Depth</th><th>Memory + Disk</th><th>Messages</th><th>Channels</th><th>E2E</th>' + (IS_ADMIN ? '<th></th>' : '') + '</tr>';
      nodes.forEach(function (n, i) {
        html += '<tr><td class="name"><a href="' + base + '/nodes/' + enc(n.node) + '">' + esc(n.hostname + ' (' + n.node + ')') + '</a>' + (n.paused ? '<span class="label paused">paused</span>' : '') + '</td><td>' + fmt(n.depth) + '</td><td>' + fmt(n.memory_depth) + ' + ' + fmt(n.backend_depth) +
          '</td><td>' + fmt(n.message_count) + '</td><td>' + (n.channels || []).length + '</td><td>' + esc(e2e(n)) + '</td>' + (IS_ADMIN ? '<td>' + button('✘', 'tomb' + i, true) + '</td>' : '') + '</tr>';
      });
      html += '<tr class="total"><td class="name">Total</td><td>' + fmt(t.depth) + '</td><td>' + fmt(t.memory_depth) + ' + ' + fmt(t.backend_depth) + '</td><td>' + fmt(t.message_count) + '</td><td>' + (t.channels || []).length + '</td><td>' + esc(e2e(t)) + '</td>' + (IS_ADMIN ? '<td></td>' : '') + '</tr></table>';
      var chans = t.channels || [];
      if (chans.length === 0) html += '<div class="alert info">No channels</div>';
      else {
        html += '<h3>Channels</h3><table><tr><th class="name">Channel</th><th>Depth</th><th>Memory + Disk</th><th>In-Flight</th><th>Deferred</th><th>Requeued</th><th>Timed Out</th><th>Messages</th><th>Connections</th><th>E2E</th></tr>';
        chans.forEach(function (c) {
          html += '<tr><td class="name"><a href="' + base + '/topics/' + enc(topic) + '/' + enc(c.channel_name) + '">' + esc(c.channel_name) + '</a>' + (c.paused ? '<span class="label paused">paused</span>' : '') + '</td><td>' + fmt(c.depth) + '</td><td>' + fmt(c.memory_depth) + ' + ' + fmt(c.backend_depth) + '</td><td>' + fmt(c.in_flight_count) + '</td><td>' + fmt(c.deferred_count) +
            '</td><td>' + fmt(c.requeue_count) + '</td><td>' + fmt(c.timeout_count) + '</td><td>' + fmt(c.message_count) + '</td><td>' + fmt(c.client_count) + '</td><td>' + esc(e2e(c)) + '</td></tr>';
        });
        html += '</table>';
      }
      var actions = {
        empty: { confirm: 'Empty topic "' + topic + '"?', run: function () { return api('POST', '/api/topics/' + enc(topic), { action: 'empty' }); } },
        'delete': { confirm: 'Delete topic "' + topic + '"?', run: function () { return api('DELETE', '/api/topics/' + enc(topic)); }, after: '/' },
        pause: { confirm: (t.paused ? 'Unpause' : 'Pause') + ' topic "' + topic + '"?', run: function () { return api('POST', '/api/topics/' + enc(topic), { action: t.paused ? 'unpause' : 'pause' }); } }
      };
      nodes.forEach(function (n, i) {
        actions['tomb' + i] = { confirm: 'Tombstone ' + n.node + ' for topic "' + topic + '"?', run: function () { return api('DELETE', '/api/nodes/' + enc(n.node), { topic: topic }); } };
      });
      return { html: html, actions: actions };
    });
  }

  function channelPage(topic, channel) {
    return api('GET', '/api/topics/' + enc(topic) + '/' + enc(channel)).then(function (c) {
      if (c.channel_name === undefined) return '<h2>' + esc(topic) + ' / ' + esc(channel) + '</h2>' + notice(c) + '<div class="alert info">Channel not found</div>';
      var key = 'channel:' + topic + ':' + channel;
      record(key, c.depth, c.message_count);
      var html = '<h2><a href="' + base + '/topics/' + enc(topic) + '">' + esc(topic) + '</a> / ' + esc(channel) + (c.paused ? '<span class="label paused">paused</span>' : '') + '</h2>' + notice(c);
      html += button('Empty Queue', 'empty', true) + button('Delete Channel', 'delete', true) + button(c.paused ? 'UnPause Channel' : 'Pause Channel', 'pause');
      html += charts(key);
      html += '<table><tr><th class="name">NSQd Host</th><th>Depth</th><th>Memory + Disk</th><th>In-Flight</th><th>Deferred</th><th>Requeued</th><th>Timed Out</th><th>Messages</th><th>Connections</th><th>E2E</th></tr>';
      (c.nodes || []).forEach(function (n) {
        html += '<tr><td class="name">' + esc(n.hostname + ' (' + n.node + ')') + '</td><td>' + fmt(n.depth) + '</td><td>' + fmt(n.memory_depth) + ' + ' + fmt(n.backend_depth) + '</td><td>' + fmt(n.in_flight_count) + '</td><td>' + fmt(n.deferred_count) + '</td><td>' + fmt(n.requeue_count) + '</td><td>' + fmt(n.timeout_count) + '</td><td>' + fmt(n.message_count) + '</td><td>' + fmt(n.client_count) + '</td><td>' + esc(e2e(n)) + '</td></tr>';
      });
      html += '<tr class="total"><td class="name">Total</td><td>' + fmt(c.depth) + '</td><td>' + fmt(c.memory_depth) + ' + ' + fmt(c.backend_depth) + '</td><td>' + fmt(c.in_flight_count) + '</td><td>' + fmt(c.deferred_count) + '</td><td>' + fmt(c.requeue_count) + '</td><td>' + fmt(c.timeout_count) + '</td><td>' + fmt(c.message_count) + '</td><td>' + fmt(c.client_count) + '</td><td>' + esc(e2e(c)) + '</td></tr></table>';
      var clients = c.clients || [];
      html += '<h3>Clients</h3>';
      if (clients.length === 0) html += '<div class="alert info">No clients connected</div>';
      else {
        html += '<table><tr><th class="name">Client Host</th><th class="name">User-Agent</th><th class="name">Attributes</th><th class="name">NSQd Host</th><th>In-Flight</th><th>Ready Count</th><th>Finished</th><th>Requeued</th><th>Messages</th><th>Connected</th></tr>';
        clients.forEach(function (cl) {
          var attrs = [];
          if (cl.sample_rate > 0) attrs.push('Sampled ' + cl.sample_rate + '%');
          if (cl.tls) attrs.push('TLS ' + cl.tls_version);
          if (cl.deflate) attrs.push('Deflate');
          if (cl.snappy) attrs.push('Snappy');
          if (cl.authed) attrs.push('Authed ' + cl.auth_identity);
          html += '<tr><td class="name">' + esc(cl.hostname + (cl.client_id && cl.client_id !== cl.hostname ? ' (' + cl.client_id + ')' : '')) + '</td><td class="name">' + esc(cl.user_agent) + '</td><td class="name">' + esc(attrs.join(', ')) + '</td><td class="name">' + esc(cl.node) + '</td><td>' + fmt(cl.in_flight_count) + '</td><td>' + fmt(cl.ready_count) + '</td><td>' + fmt(cl.finish_count) + '</td><td>' + fmt(cl.requeue_count) + '</td><td>' + fmt(cl.message_count) + '</td><td>' + esc(Math.round(cl.connected / 1e9) + 's') + '</td></tr>';
        });
        html += '</table>';
      }
      var path = '/api/topics/' + enc(topic) + '/' + enc(channel);
      return {
        html: html,
        actions: {
          empty: { confirm: 'Empty channel "' + channel + '"?', run: function () { return api('POST', path, { action: 'empty' }); } },
          'delete': { confirm: 'Delete channel "' + channel + '"?', run: function () { return api('DELETE', path); }, after: '/topics/' + enc(topic) },
          pause: { confirm: (c.paused ? 'Unpause' : 'Pause') + ' channel "' + channel + '"?', run: function () { return api('POST', path, { action: c.paused ? 'unpause' : 'pause' }); } }
        }
      };
    });
  }

  function nodesPage() {
    return api('GET', '/api/nodes').then(function (doc) {
      var nodes = doc.nodes || [];
      var html = '<h2>NSQd Nodes (' + nodes.length + ')</h2>' + notice(doc);
      html += '<table><tr><th class="name">Hostname</th><th class="name">Broadcast Address</th><th>TCP Port</th><th>HTTP Port</th><th>Version</th>' + (NSQLOOKUPD.length ? '<th>Lookupd Conns.</th>' : '') + '<th class="name">Topics</th></tr>';
      nodes.forEach(function (n) {
        var addr = (n.broadcast_address.indexOf(':') >= 0 ? '[' + n.broadcast_address + ']' : n.broadcast_address) + ':' + n.http_port;
        var conns = (n.remote_addresses || []).length;
        html += '<tr' + (n.out_of_date ? ' class="warn"' : '') + '><td class="name">' + esc(n.hostname) + '</td><td class="name"><a href="' + base + '/nodes/' + enc(addr) + '">' + esc(n.broadcast_address) + '</a></td><td>' + n.tcp_port + '</td><td>' + n.http_port + '</td><td>' + esc(n.version) + '</td>' +
          (NSQLOOKUPD.length ? '<td title="' + esc((n.remote_addresses || []).join('\n')) + '"' + (conns !== NSQLOOKUPD.length ? ' class="warn"' : '') + '>' + conns + '</td>' : '') +
          '<td class="name">' + (n.topics || []).map(function (t) { return '<a class="label' + (t.tombstoned ? ' tomb' : '') + '" href="' + base + '/topics/' + enc(t.topic) + '">' + esc(t.topic) + '</a>'; }).join(' ') + '</td></tr>';
      });
      return html + '</table>';
    });
  }

  function nodePage(node) {
    return api('GET', '/api/nodes/' + enc(node)).then(function (doc) {
      var topics = doc.topics || [];
      var html = '<h2>Node: ' + esc(node) + '</h2>' + notice(doc);
      html += '<p>Topics: ' + topics.length + ' · Messages: ' + fmt(doc.total_messages) + ' · Clients: ' + fmt(doc.total_clients) + '</p>';
      topics.forEach(function (t) {
        html += '<h3><a href="' + base + '/topics/' + enc(t.topic_name) + '">' + esc(t.topic_name) + '</a>' + (t.paused ? '<span class="label paused">paused</span>' : '') + '</h3>';
        html += '<table><tr><th class="name">Channel</th><th>Depth</th><th>In-Flight</th><th>Deferred</th><th>Requeued</th><th>Timed Out</th><th>Messages</th><th>Connections</th></tr>';
        html += '<tr class="total"><td class="name">(topic)</td><td>' + fmt(t.depth) + '</td><td></td><td></td><td></td><td></td><td>' + fmt(t.message_count) + '</td><td></td></tr>';
        (t.channels || []).forEach(function (c) {
          html += '<tr><td class="name">' + esc(c.channel_name) + '</td><td>' + fmt(c.depth) + '</td><td>' + fmt(c.in_flight_count) + '</td><td>' + fmt(c.deferred_count) + '</td><td>' + fmt(c.requeue_count) + '</td><td>' + fmt(c.timeout_count) + '</td><td>' + fmt(c.message_count) + '</td><td>' + fmt(c.client_count) + '</td></tr>';
        });
        html += '</table>';
      });
      return html;
    });
  }

  function lookupPage() {
    if (NSQLOOKUPD.length === 0) return Promise.resolve('<h2>Lookup</h2><div class="alert warn">Notice: nsqadmin is not configured with nsqlookupd hosts</div>');
    return api('GET', '/api/topics?inactive=true').then(function (doc) {
      var html = '<h2>Lookup</h2><p>nsqlookupd: ' + NSQLOOKUPD.map(esc).join(', ') + '</p>' + notice(doc);
      var names = Object.keys(doc.topics || {});
      var actions = {};
      if (names.length === 0) html += '<div class="alert info">No inactive topics</div>';
      else {
        html += '<h3>Inactive topics</h3><ul>';
        names.forEach(function (t, i) {
          actions['dt' + i] = { confirm: 'Delete topic "' + t + '"?', run: function () { return api('DELETE', '/api/topics/' + enc(t)); } };
          html += '<li>' + esc(t) + ' ' + button('✘', 'dt' + i, true) + '<ul>';
          (doc.topics[t] || []).forEach(function (c, j) {
            actions['dc' + i + '_' + j] = { confirm: 'Delete channel "' + c + '"?', run: function () { return api('DELETE', '/api/topics/' + enc(t) + '/' + enc(c)); } };
            html += '<li>' + esc(c) + ' ' + button('✘', 'dc' + i + '_' + j, true) + '</li>';
          });
          html += '</ul></li>';
        });
        html += '</ul>';
      }
      if (IS_ADMIN) html += '<h3>Create Topic/Channel</h3><form id="create"><input name="topic" placeholder="topic"><input name="channel" placeholder="channel (optional)"><button type="submit">Create</button></form>';
      return { html: html, actions: actions, after: function () {
        var form = document.getElementById('create');
        if (!form) return;
        form.addEventListener('submit', function (ev) {
          ev.preventDefault();
          api('POST', '/api/topics', { topic: form.topic.value, channel: form.channel.value }).then(function (d) {
            if (d.message) window.alert(d.message);
            route();
          }, function (err) { window.alert(err.message); });
        });
      } };
    });
  }

  function counterPage() {
    return api('GET', '/api/counter').then(function (doc) {
      var total = 0;
      var stats = doc.stats || {};
      Object.keys(stats).forEach(function (k) { total += stats[k].message_count; });
      record('counter', 0, total);
      return '<h2>Messages processed</h2>' + notice(doc) + '<div class="counter">' + fmt(total) + '</div>' +
        '<div class="charts">' + svgChart('Message rate', rates(series.counter || []), '/s') + '</div>';
    });
  }

  // --- routing ----------------------------------------------------------------------------------
  function parts() {
    var p = location.pathname;
    if (base && p.indexOf(base) === 0) p = p.slice(base.length);
    return p.split('/').filter(function (x) { return x !== ''; }).map(decodeURIComponent);
  }
  function page() {
    var p = parts();
    if (p.length === 0) return topicsPage();
    if (p[0] === 'topics' && p.length === 1) return topicsPage();
    if (p[0] === 'topics' && p.length === 2) return topicPage(p[1]);
    if (p[0] === 'topics' && p.length === 3) return channelPage(p[1], p[2]);
    if (p[0] === 'nodes' && p.length === 1) return nodesPage();
    if (p[0] === 'nodes' && p.length === 2) return nodePage(p[1]);
    if (p[0] === 'lookup') return lookupPage();
    if (p[0] === 'counter') return counterPage();
    return Promise.resolve('<div class="alert error">Page not found</div>');
  }
  function route() {
    clearTimeout(pollTimer);
    var at = location.pathname;
    page().then(function (out) {
      if (location.pathname !== at) return;
      if (typeof out === 'string') out = { html: out };
      container.innerHTML = out.html;
      wireActions(out.actions || {});
      if (out.after) out.after();
    }, showError).then(function () {
      if (location.pathname === at && !document.querySelector('form')) pollTimer = setTimeout(route, POLL_MS);
    });
  }
  function navigate(path) {
    history.pushState(null, '', base + path);
    route();
  }
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('a') : null;
    if (!a || a.target || ev.metaKey || ev.ctrlKey) return;
    var href = a.getAttribute('href');
    if (!href || href.indexOf(base + '/') !== 0 && href !== base) return;
    ev.preventDefault();
    history.pushState(null, '', href);
    route();
  });
  window.addEventListener('popstate', route);
  nav();
  route();
})();
