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

mod api_error;
mod assets;
mod model;
mod predict_body;
mod routes;

pub use model::{ModelInfo, ServedModel};
pub use predict_body::PictureInfo;
pub use routes::{PredictResponse, router};

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use crate::Error;
use crate::error::Result;

/// The largest request body read: 1 MiB. A larger one is refused with 413, unread.
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub use crate::preprocess::MAX_PICTURE_SIDE;

/// A server bound to its address, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    address: SocketAddr,
    model: Arc<ServedModel>,
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
        Ok(Server { listener, address, model: Arc::new(model) })
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
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_io().build().map_err(failed)?;
        runtime
            .block_on(async {
                self.listener.set_nonblocking(true)?;
                let listener = tokio::net::TcpListener::from_std(self.listener)?;
                axum::serve(listener, router(self.model)).await
            })
            .map_err(failed)
    }
}
