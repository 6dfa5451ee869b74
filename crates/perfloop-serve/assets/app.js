// perfloop dashboard: draws the charts of a saved run, of two runs compared, and of the
// live run. Plain JavaScript, no build step; uPlot (vendored) draws. The page says what
// to draw in <body data-view="run|compare|live" data-run-id / data-a / data-b>. Text from
// the server is only ever set with textContent, never as HTML.
(function () {
  'use strict';

  // ---- the latency grid (perfloop_stats::grid): bucket i holds (1.01^(i-1), 1.01^i] µs
  var RATIO = 1.01;
  function upperUs(i) { return Math.pow(RATIO, i); }
  function lowerUs(i) { return i === 0 ? 0 : upperUs(i - 1); }

  // A histogram on the grid: counts by bucket, merged bucket by bucket.
  function Hist() { this.counts = new Map(); this.total = 0; }
  Hist.prototype.add = function (buckets) {
    if (!buckets) { return; }
    for (var k = 0; k < buckets.length; k++) {
      var i = buckets[k][0], n = buckets[k][1];
      if (n > 0) {
        this.counts.set(i, (this.counts.get(i) || 0) + n);
        this.total += n;
      }
    }
  };
  Hist.prototype.sorted = function () {
    return Array.from(this.counts.entries()).sort(function (a, b) { return a[0] - b[0]; });
  };
  // The q quantile in µs, linear inside its bucket, rank = max(1, q·total) as
  // perfloop_stats::grid::quantile_us; null when empty.
  function quantileUs(sorted, q) {
    var total = 0, k;
    for (k = 0; k < sorted.length; k++) { total += sorted[k][1]; }
    if (total === 0) { return null; }
    var rank = Math.max(1, Math.min(1, Math.max(0, q)) * total);
    var below = 0;
    for (k = 0; k < sorted.length; k++) {
      var i = sorted[k][0], n = sorted[k][1];
      if (n === 0) { continue; }
      if (below + n >= rank) {
        var within = (rank - below) / n;
        return lowerUs(i) + (upperUs(i) - lowerUs(i)) * within;
      }
      below += n;
    }
    return upperUs(sorted[sorted.length - 1][0]);
  }
  function mergeBuckets(a, b) {
    var h = new Hist();
    h.add(a);
    h.add(b);
    return h.sorted();
  }

  // ---- helpers
  var MIB = 1024 * 1024;
  var COLORS = ['#1565c0', '#ef6c00', '#c62828', '#6a1b9a', '#2e7d32', '#757575'];

  function $(id) { return document.getElementById(id); }
  function setText(id, text) { var el = $(id); if (el) { el.textContent = text; } }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) { return '–'; }
    var m = Math.abs(v);
    if (m >= 100) { return v.toFixed(0); }
    if (m >= 10) { return v.toFixed(1); }
    if (m >= 1) { return v.toFixed(2); }
    return v.toFixed(3);
  }
  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(body && body.error ? body.error : 'HTTP ' + r.status); }
          return body;
        });
      });
  }
  function col(rows, f) { return rows.map(function (r) { var v = f(r); return v === undefined ? null : v; }); }
  function anyValue(arr) { return arr.some(function (v) { return v !== null && isFinite(v); }); }

  // ---- charts: one uPlot per .chart element; data-points is the number of x points drawn
  var charts = [];
  function chartWidth(el) { return Math.max(280, Math.floor(el.clientWidth || 600)); }

  function makeChart(el, spec, data) {
    el.textContent = '';
    var scales = { x: { time: false } };
    if (spec.logX) { scales.x.distr = 3; }
    var axes = [{ label: spec.xLabel || 'seconds' }];
    var series = [{ label: spec.xLabel || 's' }];
    var units = spec.units || [spec.yLabel || ''];
    units.forEach(function (u, k) {
      var key = k === 0 ? 'y' : 'y' + k;
      // Every quantity charted starts at zero: a rate or a latency drawn from an offset
      // makes a 2 % wobble look like a cliff.
      scales[key] = {
        auto: true,
        range: spec.logY ? undefined : function (self, min, max) { return [0, max > 0 ? max * 1.08 : 1]; }
      };
      axes.push({ scale: key, label: u, side: k === 0 ? 3 : 1, grid: { show: k === 0 } });
    });
    spec.series.forEach(function (s, k) {
      series.push({
        label: s.label,
        scale: s.unit ? (s.unit === 0 ? 'y' : 'y' + s.unit) : 'y',
        stroke: s.color || COLORS[k % COLORS.length],
        width: 1.5,
        spanGaps: false,
        paths: s.steps && uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
        value: function (u, v) { return fmt(v); }
      });
    });
    var u = new uPlot({
      width: chartWidth(el),
      height: spec.height || 220,
      scales: scales,
      axes: axes,
      series: series,
      legend: { live: true }
    }, data, el);
    el.setAttribute('data-points', String(data[0].length));
    var entry = { el: el, plot: u };
    charts.push(entry);
    return entry;
  }
  function setData(entry, data) {
    entry.plot.setData(data);
    entry.el.setAttribute('data-points', String(data[0].length));
  }
  function notMeasured(el, why) {
    el.textContent = why;
    el.classList.add('empty');
    el.setAttribute('data-points', '0');
  }
  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.plot.setSize({ width: chartWidth(c.el), height: c.plot.height }); });
  });

  // The histogram of merged buckets as [latency ms (bucket's upper bound), count].
  function histogramData(sorted) {
    return [sorted.map(function (b) { return upperUs(b[0]) / 1000; }), sorted.map(function (b) { return b[1]; })];
  }

  // The series of timeline rows (the live sample's shape) for each chart.
  function seriesOf(rows) {
    var x = col(rows, function (r) { return r.t_s; });
    return {
      x: x,
      rps: col(rows, function (r) { return r.rps; }),
      p50: col(rows, function (r) { return r.p50_ms; }),
      p90: col(rows, function (r) { return r.p90_ms; }),
      p99: col(rows, function (r) { return r.p99_ms; }),
      max: col(rows, function (r) { return r.max_ms; }),
      errors: col(rows, function (r) { return r.length_s > 0 ? r.errors / r.length_s : null; }),
      targetCpu: col(rows, function (r) { return r.target_cpu; }),
      generatorCpu: col(rows, function (r) { return r.generator_cpu; }),
      rss: col(rows, function (r) { return r.target_rss_bytes === null || r.target_rss_bytes === undefined ? null : r.target_rss_bytes / MIB; })
    };
  }

  // ---- a saved run
  function runView() {
    var id = document.body.getAttribute('data-run-id');
    var maxPoints = Math.max(200, Math.min(4000, Math.round(window.innerWidth || 1200)));
    getJSON('/api/runs/' + encodeURIComponent(id) + '/timeline?max_points=' + maxPoints)
      .then(function (t) {
        var rows = t.rows || [];
        var s = seriesOf(rows);
        var status = rows.length + ' rows';
        if (t.seconds_per_row > 1) {
          status = t.seconds + ' seconds, drawn as ' + rows.length + ' rows of ' + t.seconds_per_row +
            ' s (percentiles from the merged latency buckets)';
        } else {
          status = t.seconds + ' seconds';
        }
        setText('charts-status', status);
        draw('chart-throughput', { series: [{ label: 'req/s' }], yLabel: 'req/s' }, [s.x, s.rps]);
        draw('chart-latency', {
          series: [{ label: 'p50' }, { label: 'p90' }, { label: 'p99' }, { label: 'max', color: '#9e9e9e' }],
          yLabel: 'ms'
        }, [s.x, s.p50, s.p90, s.p99, s.max]);
        draw('chart-errors', { series: [{ label: 'errors/s', color: '#c62828' }], yLabel: 'errors/s' }, [s.x, s.errors]);
        draw('chart-cpu', {
          series: [{ label: 'target' }, { label: 'generator', color: '#757575' }], yLabel: 'cores'
        }, [s.x, s.targetCpu, s.generatorCpu]);
        draw('chart-rss', { series: [{ label: 'target RSS' }], yLabel: 'MiB' }, [s.x, s.rss]);
        var whole = new Hist();
        rows.forEach(function (r) { whole.add(r.latency_buckets); });
        var sorted = whole.sorted();
        var el = $('chart-histogram');
        if (el) {
          if (sorted.length < 2) {
            notMeasured(el, 'No latency buckets in this record.');
          } else {
            makeChart(el, { series: [{ label: 'responses', steps: true }], xLabel: 'ms', yLabel: 'responses', logX: true },
              histogramData(sorted));
          }
        }
      })
      .catch(function (e) { setText('charts-status', 'The timeline could not be loaded: ' + e.message); });
  }

  // A chart of `data` in the element `id`, or a note when nothing was measured.
  function draw(id, spec, data) {
    var el = $(id);
    if (!el) { return null; }
    var measured = data.slice(1).some(anyValue);
    if (!measured || data[0].length === 0) {
      notMeasured(el, 'Not measured in this run.');
      return null;
    }
    return makeChart(el, spec, data);
  }

  // ---- two runs compared
  function compareView() {
    var a = document.body.getAttribute('data-a');
    var b = document.body.getAttribute('data-b');
    var maxPoints = Math.max(200, Math.min(2000, Math.round(window.innerWidth || 1200)));
    var url = function (id) { return '/api/runs/' + encodeURIComponent(id) + '/timeline?max_points=' + maxPoints; };
    Promise.all([getJSON(url(a)), getJSON(url(b))])
      .then(function (both) {
        var sa = seriesOf(both[0].rows || []);
        var sb = seriesOf(both[1].rows || []);
        setText('charts-status', 'run ' + a + ': ' + both[0].seconds + ' s · run ' + b + ': ' + both[1].seconds + ' s');
        var overlay = function (id, ya, yb, unit) {
          var joined = uPlot.join([[sa.x, ya], [sb.x, yb]]);
          draw(id, { series: [{ label: 'A · run ' + a }, { label: 'B · run ' + b, color: '#ef6c00' }], yLabel: unit }, joined);
        };
        overlay('chart-compare-throughput', sa.rps, sb.rps, 'req/s');
        overlay('chart-compare-p99', sa.p99, sb.p99, 'ms');
      })
      .catch(function (e) { setText('charts-status', 'The timelines could not be loaded: ' + e.message); });
  }

  // ---- the live run
  var LIVE_CAP = 3600;

  // Two adjacent rows as one: counts summed, buckets merged, percentiles from them.
  function mergeRows(a, b) {
    var buckets = mergeBuckets(a.latency_buckets, b.latency_buckets);
    var length = (a.length_s || 0) + (b.length_s || 0);
    var requests = (a.requests || 0) + (b.requests || 0);
    var q = function (p, fa, fb) {
      var v = quantileUs(buckets, p);
      if (v !== null) { return v / 1000; }
      return maxOf(fa, fb);
    };
    var weighted = function (va, vb) {
      var s = 0, l = 0;
      if (va !== null && va !== undefined) { s += va * a.length_s; l += a.length_s; }
      if (vb !== null && vb !== undefined) { s += vb * b.length_s; l += b.length_s; }
      return l > 0 ? s / l : null;
    };
    return {
      t_s: a.t_s, length_s: length, requests: requests, errors: (a.errors || 0) + (b.errors || 0),
      rps: length > 0 ? requests / length : 0,
      p50_ms: q(0.5, a.p50_ms, b.p50_ms), p90_ms: q(0.9, a.p90_ms, b.p90_ms), p99_ms: q(0.99, a.p99_ms, b.p99_ms),
      max_ms: maxOf(a.max_ms, b.max_ms), latency_buckets: buckets,
      target_cpu: weighted(a.target_cpu, b.target_cpu), generator_cpu: weighted(a.generator_cpu, b.generator_cpu),
      target_rss_bytes: maxOf(a.target_rss_bytes, b.target_rss_bytes)
    };
  }
  function maxOf(a, b) {
    var ok = function (v) { return v !== null && v !== undefined && isFinite(v); };
    if (ok(a) && ok(b)) { return Math.max(a, b); }
    return ok(a) ? a : (ok(b) ? b : null);
  }

  function liveView() {
    var state;
    var pending = false;
    var ended = false;
    var liveCharts = {};

    function reset() {
      state = { rows: [], whole: new Hist(), requests: 0, errors: 0 };
      ['steps', 'trials', 'alerts'].forEach(function (id) {
        var body = document.querySelector('#' + id + ' tbody');
        if (body) { body.textContent = ''; }
      });
    }
    reset();

    function redraw() {
      pending = false;
      var s = seriesOf(state.rows);
      var sets = {
        'chart-throughput': { spec: { series: [{ label: 'req/s' }], yLabel: 'req/s' }, data: [s.x, s.rps] },
        'chart-latency': {
          spec: { series: [{ label: 'p50' }, { label: 'p90' }, { label: 'p99' }], yLabel: 'ms' },
          data: [s.x, s.p50, s.p90, s.p99]
        },
        'chart-errors': { spec: { series: [{ label: 'errors/s', color: '#c62828' }], yLabel: 'errors/s' }, data: [s.x, s.errors] },
        'chart-target': {
          spec: {
            series: [{ label: 'target CPU (cores)' }, { label: 'target RSS (MiB)', unit: 1, color: '#6a1b9a' }],
            units: ['cores', 'MiB']
          },
          data: [s.x, s.targetCpu, s.rss]
        }
      };
      Object.keys(sets).forEach(function (id) {
        var el = $(id);
        if (!el) { return; }
        if (liveCharts[id]) {
          setData(liveCharts[id], sets[id].data);
        } else if (s.x.length > 0) {
          el.classList.remove('empty');
          liveCharts[id] = makeChart(el, sets[id].spec, sets[id].data);
        }
      });
      var target = $('chart-target');
      if (target && s.x.length >= 3 && !anyValue(s.targetCpu) && !anyValue(s.rss)) {
        var caption = target.parentNode.querySelector('figcaption');
        if (caption) { caption.textContent = 'not measured: no target process is watched (--target-cmd or --pid)'; }
      }
      var sorted = state.whole.sorted();
      var p50 = quantileUs(sorted, 0.5), p99 = quantileUs(sorted, 0.99);
      setText('whole-p50', p50 === null ? '–' : fmt(p50 / 1000));
      setText('whole-p99', p99 === null ? '–' : fmt(p99 / 1000));
      setText('whole-requests', String(state.requests));
      setText('whole-errors', String(state.errors));
      var last = state.rows[state.rows.length - 1];
      setText('last-rps', last ? fmt(last.rps) : '–');
    }
    function schedule() {
      if (!pending) {
        pending = true;
        window.setTimeout(redraw, 250);
      }
    }

    function addSample(sample) {
      state.rows.push(sample);
      state.whole.add(sample.latency_buckets);
      state.requests += sample.requests || 0;
      state.errors += sample.errors || 0;
      if (state.rows.length > LIVE_CAP) {
        // Older rows merged pairwise: memory stays flat, percentiles stay exact.
        var merged = [];
        var rows = state.rows;
        var keep = Math.floor(LIVE_CAP / 2);
        for (var k = 0; k + 1 < rows.length - keep; k += 2) { merged.push(mergeRows(rows[k], rows[k + 1])); }
        if ((rows.length - keep) % 2 === 1) { merged.push(rows[rows.length - keep - 1]); }
        state.rows = merged.concat(rows.slice(rows.length - keep));
      }
      schedule();
    }

    function addRow(tableId, cells, cls) {
      var body = document.querySelector('#' + tableId + ' tbody');
      if (!body) { return; }
      var tr = document.createElement('tr');
      if (cls) { tr.className = cls; }
      cells.forEach(function (c) {
        var td = document.createElement('td');
        td.textContent = c.text;
        if (c.num) { td.className = 'num'; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    function show(id) { var el = $(id); if (el) { el.hidden = false; } }

    var es = new EventSource('/api/live');
    es.addEventListener('hello', function (e) {
      var info = JSON.parse(e.data);
      reset();
      setText('live-kind', info.kind ? '· ' + info.kind : '');
      setText('live-target', info.target || '');
      setText('live-command', info.command || '');
      setText('live-started', info.started_at || '–');
      setText('live-status', 'running');
      schedule();
    });
    es.addEventListener('sample', function (e) { addSample(JSON.parse(e.data)); });
    es.addEventListener('step', function (e) {
      var s = JSON.parse(e.data);
      var run = s.run || {};
      var verdict = s.verdict || {};
      var lat = run.latency_ms || {};
      show('steps-section');
      addRow('steps', [
        { text: String(s.index === undefined ? '' : s.index), num: true },
        { text: fmt(s.offered), num: true },
        { text: fmt(run.throughput_rps), num: true },
        { text: fmt(lat.p99), num: true },
        { text: verdict.error_rate === undefined ? fmt(verdict.errors) : fmt(verdict.errors) + ' (' + (100 * verdict.error_rate).toFixed(2) + ' %)', num: true },
        {
          text: verdict.pass ? 'pass'
            : (verdict.trusted === false ? 'untrusted' : 'fail')
              + (verdict.reasons && verdict.reasons.length ? ': ' + verdict.reasons.join('; ') : '')
        }
      ], verdict.pass ? 'pass' : 'fail');
    });
    es.addEventListener('trial', function (e) {
      var t = JSON.parse(e.data);
      show('trials-section');
      var params = t.config || t.params || {};
      addRow('trials', [
        { text: String(t.number === undefined ? '' : t.number), num: true },
        { text: Object.keys(params).map(function (k) { return k + '=' + JSON.stringify(params[k]); }).join(' ') },
        { text: t.state || '' },
        { text: fmt(t.objective), num: true }
      ]);
    });
    es.addEventListener('alert', function (e) {
      var a = JSON.parse(e.data);
      addRow('alerts', [
        { text: a.at || (a.t_s === undefined ? '' : a.t_s + ' s') },
        { text: a.rule || '' },
        { text: a.state || '' },
        { text: fmt(a.value), num: true },
        { text: fmt(a.threshold), num: true }
      ], a.state === 'firing' ? 'firing' : 'resolved');
    });
    es.addEventListener('end', function (e) {
      var end = JSON.parse(e.data);
      ended = true;
      es.close();
      setText('live-status', 'ended');
      var link = $('run-link');
      if (link) {
        if (end.url) {
          link.setAttribute('href', end.url);
          link.textContent = 'See the saved run ' + (end.run_id === null || end.run_id === undefined ? '' : end.run_id);
        } else {
          link.removeAttribute('href');
          link.textContent = 'The run was not saved.';
        }
      }
      show('live-end');
      redraw();
    });
    es.onerror = function () {
      if (!ended) { setText('live-status', 'reconnecting'); }
    };
  }

  function start() {
    if (typeof uPlot === 'undefined') { return; }
    var view = document.body.getAttribute('data-view');
    if (view === 'run') { runView(); }
    else if (view === 'compare') { compareView(); }
    else if (view === 'live') { liveView(); }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
