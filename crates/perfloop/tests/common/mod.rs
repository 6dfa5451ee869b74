//! What the `perfloop` command tests share: an in-process axum server and running the
//! binary to its end.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use assert_cmd::Command;

/// Serves `app` on 127.0.0.1 (an ephemeral port) from its own runtime thread.
pub fn serve(app: axum::Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// Runs perfloop to its end (at most 2 minutes); returns (exit code, stdout, stderr).
pub fn perfloop(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("perfloop")
        .unwrap()
        // The runs are saved in a store of the tests' own.
        .env(
            "PERFLOOP_DB",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/history.db"),
        )
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
