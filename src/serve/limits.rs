//! What the server's requests may take together: the memory of the bodies being received, and
//! the pictures decoded at once, so that a crowd of hostile requests cannot take the machine's
//! memory (24 concurrent 4096x4096 PNGs once took a server without these to 5 GB).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::MAX_BODY_BYTES;
use super::api_error::ApiError;

/// The bytes of all the request bodies held at once: 32 MiB, the bodies of 32 requests at the
/// largest; past it, a request is answered 503 until others are done.
pub const BODY_BUDGET_BYTES: usize = 32 << 20;

/// The budget is counted in KiB.
const KIB: usize = 1 << 10;

/// How long a prediction waits for a decoding slot before it is answered 503.
const SLOT_WAIT: Duration = Duration::from_secs(10);

/// The pictures decoded (and predictions made) at once: one per core, at most 4, so that the
/// decoding's memory (at most [`crate::preprocess::MAX_DECODE_BYTES`] and twice the pixels
/// each) stays bounded whatever the machine.
pub fn decode_slots() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}

/// The server's shared limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Permits for the bodies' bytes, in KiB.
    body_budget: Arc<Semaphore>,
    /// Permits to decode and predict.
    decode_slots: Arc<Semaphore>,
    /// The time a body has to arrive.
    pub read_timeout: Duration,
}

/// A body received, and its share of the budget, given back when both are dropped.
pub struct HeldBody {
    /// The bytes.
    pub bytes: Bytes,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Limits {
    /// Limits with bodies given `read_timeout` to arrive.
    pub fn new(read_timeout: Duration) -> Limits {
        Limits {
            body_budget: Arc::new(Semaphore::new(BODY_BUDGET_BYTES / KIB)),
            decode_slots: Arc::new(Semaphore::new(decode_slots())),
            read_timeout,
        }
    }

    /// A slot to decode and predict in, waiting a few seconds for one.
    ///
    /// **Errors** 503 when none frees up in time.
    pub async fn decode_slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        let busy = || {
            ApiError::unavailable(format!(
                "the server is busy: {} predictions are under way and others wait; try again in a moment",
                decode_slots()
            ))
        };
        match tokio::time::timeout(SLOT_WAIT, self.decode_slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(busy()),
        }
    }

    /// The whole body, if it is at most [`MAX_BODY_BYTES`], arrives within the read timeout and
    /// fits in what is left of the budget: a larger declared length is refused before a byte
    /// is read, and a body without one is cut off as soon as it passes the limit.
    pub async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<HeldBody, ApiError> {
        let declared = headers.get(CONTENT_LENGTH).and_then(|n| n.to_str().ok()?.parse::<u64>().ok());
        if let Some(length) = declared.filter(|&n| n > MAX_BODY_BYTES as u64) {
            return Err(too_large(format!("{length} bytes")));
        }
        match tokio::time::timeout(self.read_timeout, self.collect(body)).await {
            Ok(read) => read,
            Err(_) => Err(ApiError::timeout(format!(
                "the body did not arrive within {} s; send it whole at once",
                self.read_timeout.as_secs_f64()
            ))),
        }
    }

    async fn collect(&self, mut body: Body) -> Result<HeldBody, ApiError> {
        let mut bytes = Vec::new();
        let mut permit: Option<OwnedSemaphorePermit> = None;
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| ApiError::bad_request(format!("the body could not be read: {e}")))?;
            let Ok(data) = frame.into_data() else { continue };
            if bytes.len() + data.len() > MAX_BODY_BYTES {
                return Err(too_large(format!("more than {MAX_BODY_BYTES} bytes")));
            }
            bytes.extend_from_slice(&data);
            // the budget's share grows with the memory the body takes, a KiB at a time
            let held = permit.as_ref().map_or(0, |p| p.num_permits());
            let needed = bytes.capacity().div_ceil(KIB).saturating_sub(held);
            if needed > 0 {
                let more = self.body_budget.clone().try_acquire_many_owned(needed as u32).map_err(|_| {
                    ApiError::unavailable(format!(
                        "the server is receiving {} MiB of bodies already; try again in a moment",
                        BODY_BUDGET_BYTES >> 20
                    ))
                })?;
                match permit.as_mut() {
                    Some(p) => p.merge(more),
                    None => permit = Some(more),
                }
            }
        }
        Ok(HeldBody { bytes: bytes.into(), _permit: permit })
    }
}

fn too_large(size: String) -> ApiError {
    ApiError::too_large(format!(
        "the body is {size}, over the limit of {MAX_BODY_BYTES} bytes (1 MiB): 784 numbers or a picture of a digit take far less"
    ))
}
