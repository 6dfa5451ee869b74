//! The live page (`/` while a run goes on): filled by app.js from the event stream
//! `/api/live` (`hello`, `sample`, `step`, `trial`, `alert`, `end`): charts of throughput,
//! latency, errors and the target's resources, the whole run's p50 and p99 from the
//! seconds' merged latency buckets, the capacity steps, study trials and alerts as they
//! come, and a link to the saved run at the end.

use std::fmt::Write as _;

use super::Page;

/// The charts of the live page: id, title, what it shows.
const LIVE_CHARTS: [(&str, &str, &str); 4] = [
    ("chart-throughput", "Throughput", "requests per second"),
    (
        "chart-latency",
        "Latency",
        "p50, p90 and p99 of each second, ms",
    ),
    ("chart-errors", "Errors", "errors per second"),
    (
        "chart-target",
        "Target",
        "the target's CPU (cores) and resident memory (MiB)",
    ),
];

/// The live page; everything on it comes from the event stream.
pub(super) fn page() -> Page {
    let mut h = String::new();
    h.push_str(
        "<h1>Live run <span id=\"live-kind\"></span></h1>\n\
         <p class=\"meta\"><span id=\"live-status\" class=\"status\">connecting</span> · \
         <code id=\"live-target\"></code> · started <span id=\"live-started\">–</span></p>\n\
         <p class=\"meta\"><code id=\"live-command\"></code></p>\n\
         <p id=\"live-end\" class=\"note\" hidden>The run has ended. \
         <a id=\"run-link\" href=\"/runs\">See the saved run</a></p>\n\
         <div class=\"cards\">\n\
         <div class=\"card\"><div class=\"k\">whole run p50</div><div class=\"v\"><span id=\"whole-p50\">–</span> ms</div></div>\n\
         <div class=\"card\"><div class=\"k\">whole run p99</div><div class=\"v\"><span id=\"whole-p99\">–</span> ms</div></div>\n\
         <div class=\"card\"><div class=\"k\">requests</div><div class=\"v\" id=\"whole-requests\">–</div></div>\n\
         <div class=\"card\"><div class=\"k\">errors</div><div class=\"v\" id=\"whole-errors\">–</div></div>\n\
         <div class=\"card\"><div class=\"k\">last second</div><div class=\"v\"><span id=\"last-rps\">–</span> req/s</div></div>\n\
         </div>\n<section id=\"charts\">\n<div class=\"charts\">\n",
    );
    for (id, title, what) in LIVE_CHARTS {
        let _ = writeln!(
            h,
            "<figure class=\"chart-box\"><h3>{title}</h3><div class=\"chart\" id=\"{id}\" \
             data-points=\"0\"></div><figcaption>{what}</figcaption></figure>"
        );
    }
    h.push_str(
        "</div>\n</section>\n\
         <section id=\"alerts-section\">\n<h2>Alerts</h2>\n<table id=\"alerts\">\n<thead><tr>\
         <th>at</th><th>rule</th><th>state</th><th class=\"num\">value</th><th class=\"num\">threshold</th>\
         </tr></thead>\n<tbody></tbody>\n</table>\n</section>\n\
         <section id=\"steps-section\" hidden>\n<h2>Capacity steps</h2>\n<table id=\"steps\">\n<thead><tr>\
         <th class=\"num\">step</th><th class=\"num\">offered</th><th class=\"num\">req/s</th>\
         <th class=\"num\">p99 ms</th><th class=\"num\">errors</th><th>verdict</th></tr></thead>\n\
         <tbody></tbody>\n</table>\n</section>\n\
         <section id=\"trials-section\" hidden>\n<h2>Trials</h2>\n<table id=\"trials\">\n<thead><tr>\
         <th class=\"num\">trial</th><th>parameters</th><th>state</th><th class=\"num\">objective</th>\
         </tr></thead>\n<tbody></tbody>\n</table>\n</section>\n",
    );
    Page {
        title: "Live".to_owned(),
        view: "live",
        body: h,
        live: true,
        ..Page::default()
    }
}
