//! The routes: the page's files, `GET /api/model` and the run's curves, `POST /api/predict`,
//! and JSON errors for everything else.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;

use super::api_error::ApiError;
use super::assets::ASSETS;
use super::predict_body::{self, PictureInfo};
use super::{MAX_BODY_BYTES, ModelInfo, ServedModel};

/// The answer of `POST /api/predict`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictResponse {
    /// The most probable class; `null` when the picture has no digit (`picture.blank`).
    pub class: Option<usize>,
    /// One probability per class, none when the picture has no digit. Sent as the `f64` of
    /// each `f32` (the same number, written in full), so that the page rounds exactly what
    /// `mitbadak predict` rounds.
    pub probabilities: Vec<f64>,
    /// The 784 values the network saw, row by row: the picture in MNIST's form.
    pub input: Vec<f32>,
    /// How a picture was read; `null` for an array of numbers.
    pub picture: Option<PictureInfo>,
}

/// The server's routes, answering with `model`.
pub fn router(model: Arc<ServedModel>) -> Router {
    let page = ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(
            asset.path,
            get(move || async move { ([(CONTENT_TYPE, asset.content_type)], asset.bytes) }),
        )
    });
    page.route("/api/model", get(model_info))
        .route("/api/model/{file}", get(curve))
        .route("/api/predict", post(predict))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(model)
}

async fn model_info(State(model): State<Arc<ServedModel>>) -> Json<ModelInfo> {
    Json(model.info().clone())
}

async fn curve(
    State(model): State<Arc<ServedModel>>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let png = model.curve(&file).ok_or_else(|| {
        ApiError::not_found(format!(
            "the model's run has no {file}: the curves are {}",
            serde_json::to_string(&model.info().curves).unwrap_or_default()
        ))
    })?;
    Ok(([(CONTENT_TYPE, "image/png")], png.to_vec()).into_response())
}

async fn predict(
    State(model): State<Arc<ServedModel>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PredictResponse>, ApiError> {
    let body = read_body(&headers, body).await?;
    let content_type = headers.get(CONTENT_TYPE).and_then(|t| t.to_str().ok()).map(str::to_owned);
    // decoding a picture and the forward pass take a while: off the threads that do the I/O
    tokio::task::spawn_blocking(move || answer(&model, content_type.as_deref(), &body))
        .await
        .map_err(|e| ApiError::internal(format!("the prediction failed: {e}")))?
        .map(Json)
}

fn answer(model: &ServedModel, content_type: Option<&str>, body: &[u8]) -> Result<PredictResponse, ApiError> {
    let input = predict_body::parse(content_type, body)?;
    if input.picture.as_ref().is_some_and(|p| p.blank) {
        return Ok(PredictResponse {
            class: None,
            probabilities: Vec::new(),
            input: input.pixels,
            picture: input.picture,
        });
    }
    let classification =
        model.classify(input.pixels.clone()).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(PredictResponse {
        class: Some(classification.class),
        probabilities: classification.probabilities.iter().map(|&p| f64::from(p)).collect(),
        input: input.pixels,
        picture: input.picture,
    })
}

/// The whole body, if it is at most [`MAX_BODY_BYTES`]: a larger declared length is refused
/// before a byte is read, and a body without one is cut off as soon as it passes the limit.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let too_large = |size: String| {
        ApiError::too_large(format!(
            "the body is {size}, over the limit of {MAX_BODY_BYTES} bytes (1 MiB): 784 numbers or a picture of a digit take far less"
        ))
    };
    let declared = headers.get(CONTENT_LENGTH).and_then(|n| n.to_str().ok()?.parse::<u64>().ok());
    if let Some(length) = declared.filter(|&n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large(format!("{length} bytes")));
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(too_large(format!("more than {MAX_BODY_BYTES} bytes")))
        }
        Err(e) => Err(ApiError::bad_request(format!("the body could not be read: {e}"))),
    }
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {method} {uri}: the page is GET /, the API GET /api/model and POST /api/predict"
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let allowed = if uri.path() == "/api/predict" { "POST" } else { "GET" };
    ApiError::method_not_allowed(format!("{} does not take {method}: use {allowed}", uri.path()))
}
