//! `mitbadak serve`: a page to draw a digit on and watch a network read it, and the JSON API
//! behind it, over HTTP/1.1 (axum on tokio).
//!
//! | route | what it gives |
//! | --- | --- |
//! | `GET /` (with `/app.js`, `/style.css`) | the page, built into the binary: nothing comes from elsewhere |
//! | `GET /api/model` | the model: file, architecture, test accuracy, metadata, curves ([`ModelInfo`]) |
//! | `GET /api/model/accuracy.png`, `/api/model/loss.png` | the curves of the model's run, where its directory has them |
//! | `POST /api/predict` | a body of 784 numbers in [0, 1] (a JSON array) or a picture: the class probabilities ([`PredictResponse`]) |
//!
//! A picture goes through [`crate::preprocess::to_mnist`], as in `mitbadak predict IMAGE`, so the
//! page (which sends its canvas as a PNG) and the command line read a drawing the same way.
//! Every failure is a 4xx with `{"error": "..."}` saying what was wrong; the server goes on.
//!
//! A stranger's requests cannot take its memory or its connections: a request's head and body
//! must arrive within [`ServeOptions::read_timeout`]; bodies are at most [`MAX_BODY_BYTES`]
//! each and [`BODY_BUDGET_BYTES`] together (past it, 503); at most [`decode_slots`] pictures
//! are decoded at once (the others wait, then get 503), each within
//! [`crate::preprocess::MAX_DECODE_BYTES`]; `Host` must name this machine by address, or be
//! one of [`ServeOptions::allowed_hosts`] (against DNS rebinding); `POST /api/predict` takes
//! only `application/json` and `image/*` (a web page cannot make a browser send those without
//! asking); and running out of file descriptors only pauses accepting.

mod api_error;
mod assets;
mod guard;
mod limits;
mod model;
mod predict_body;
mod routes;

pub use guard::host_is_allowed;
pub use limits::{BODY_BUDGET_BYTES, decode_slots};
pub use model::{ModelInfo, ServedModel};
pub use predict_body::PictureInfo;
pub use routes::{PredictResponse, router};

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;

use crate::Error;
use crate::error::Result;

/// The largest request body read: 1 MiB. A larger one is refused with 413, unread.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The largest request head (request line and headers) read: 16 KiB; a larger one gets 431.
pub const MAX_HEAD_BYTES: usize = 16 << 10;

/// How a server treats its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// The time a client has to send a request's head, counted from when the server waits
    /// for it (so an idle kept-alive connection is closed after it too), and then again its
    /// body: 10 s by default.
    pub read_timeout: Duration,
    /// Host names the `Host` header may give beyond IP addresses and `localhost` (`*`: any).
    pub allowed_hosts: Vec<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions { read_timeout: Duration::from_secs(10), allowed_hosts: Vec::new() }
    }
}

pub use crate::preprocess::MAX_PICTURE_SIDE;

/// A server bound to its address, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    address: SocketAddr,
    model: Arc<ServedModel>,
    options: ServeOptions,
}

impl Server {
    /// Listens on `host:port` (port 0: any free port; [`Server::address`] tells which).
    ///
    /// **Errors** name the address: a host that does not resolve, a port in use or not allowed.
    pub fn bind(host: &str, port: u16, model: ServedModel) -> Result<Server> {
        let named = format!("{host}:{port}");
        let failed = |e: std::io::Error, hint: &str| Error::Server {
            address: named.clone(),
            message: format!("cannot listen there ({e}){hint}"),
        };
        let listener = TcpListener::bind((host, port)).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => "; another program has the port: choose another with --port",
                _ => "",
            };
            failed(e, hint)
        })?;
        let address = listener.local_addr().map_err(|e| failed(e, ""))?;
        Ok(Server { listener, address, model: Arc::new(model), options: ServeOptions::default() })
    }

    /// The server with `options` in place of the defaults.
    pub fn with_options(self, options: ServeOptions) -> Server {
        Server { options, ..self }
    }

    /// Whether it listens beyond this machine (on an address other than a loopback one).
    pub fn reaches_the_network(&self) -> bool {
        !self.address.ip().is_loopback()
    }

    /// The address listened on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The page's address: `http://127.0.0.1:8080/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// Serves until the process ends, on a runtime of its own: call it from a thread of its
    /// own in a program that does other things.
    ///
    /// **Errors** if the runtime cannot start or the listener fails.
    pub fn run(self) -> Result<()> {
        let address = self.address.to_string();
        let failed = |e: std::io::Error| Error::Server { address: address.clone(), message: e.to_string() };
        // timers for the read timeouts, and for the pause after an accept error
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(failed)?;
        runtime.block_on(self.accept_loop()).map_err(failed)
    }

    async fn accept_loop(self) -> std::io::Result<()> {
        self.listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let app = router(self.model, &self.options);
        let read_timeout = self.options.read_timeout;
        let mut warned: Option<Instant> = None;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    pause_after(&e, &mut warned).await;
                    continue;
                }
            };
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let mut connection = http1::Builder::new();
                connection
                    .timer(TokioTimer::new())
                    .header_read_timeout(read_timeout)
                    .max_buf_size(MAX_HEAD_BYTES);
                // a client that goes away or times out ends its connection only
                let _ = connection.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    }
}

/// After a failed `accept`: a connection that went away before it was taken costs nothing;
/// running out of file descriptors (EMFILE, under `ulimit -n`) or memory pauses accepting
/// for 100 ms, so that the connections being served can end and free theirs, with a warning
/// at most once a minute.
async fn pause_after(e: &std::io::Error, warned: &mut Option<Instant>) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    if warned.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
        eprintln!(
            "warning: cannot take a new connection ({e}); waiting for open ones to close \
             (too many at once? `ulimit -n` raises the limit of open files)"
        );
        *warned = Some(Instant::now());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}
