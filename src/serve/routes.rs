//! The routes: the page's files, `GET /api/model` and the run's curves, `POST /api/predict`,
//! and JSON errors for everything else.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use serde::Serialize;

use super::api_error::ApiError;
use super::assets::ASSETS;
use super::guard::check_host;
use super::limits::Limits;
use super::predict_body::{self, PictureInfo};
use super::{ModelInfo, ServeOptions, ServedModel};

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

/// What the handlers share: the model and the limits.
#[derive(Clone)]
struct App {
    model: Arc<ServedModel>,
    limits: Limits,
}

/// The server's routes, answering with `model`, within `options`.
pub fn router(model: Arc<ServedModel>, options: &ServeOptions) -> Router {
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
        .with_state(App { model, limits: Limits::new(options.read_timeout) })
        .layer(middleware::from_fn_with_state(Arc::new(options.allowed_hosts.clone()), check_host))
}

async fn model_info(State(App { model, .. }): State<App>) -> Json<ModelInfo> {
    Json(model.info().clone())
}

async fn curve(State(App { model, .. }): State<App>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let png = model.curve(&file).ok_or_else(|| {
        ApiError::not_found(format!(
            "the model's run has no {file}: the curves are {}",
            serde_json::to_string(&model.info().curves).unwrap_or_default()
        ))
    })?;
    Ok(([(CONTENT_TYPE, "image/png")], png.to_vec()).into_response())
}

async fn predict(
    State(App { model, limits }): State<App>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PredictResponse>, ApiError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|t| t.to_str().ok()).map(str::to_owned);
    predict_body::check_type(content_type.as_deref())?;
    let body = limits.read_body(&headers, body).await?;
    let slot = limits.decode_slot().await?;
    // decoding a picture and the forward pass take a while: off the threads that do the I/O
    tokio::task::spawn_blocking(move || {
        let answer = answer(&model, content_type.as_deref(), &body.bytes);
        drop((slot, body));
        answer
    })
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

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {method} {uri}: the page is GET /, the API GET /api/model and POST /api/predict"
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let allowed = if uri.path() == "/api/predict" { "POST" } else { "GET" };
    ApiError::method_not_allowed(format!("{} does not take {method}: use {allowed}", uri.path()))
}
