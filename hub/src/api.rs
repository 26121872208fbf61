//! The HTTP API under `/v1` (`docs/sync-protocol.md` §5), as an axum router.
//!
//! The accept loop puts the connection's client-certificate pin into every request as a
//! [`Peer`] extension; the [`Authed`] extractor turns it into an enrolled device or a
//! `401`/`403`. Bodies are read with explicit limits (`413` before reading when the
//! declared length is too large); every error is a JSON [`wire::ErrorBody`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
use axum::{Json, Router};
use custos_wire::{self as wire, BlobAnnounce, EnrollRequest};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::blobs::BlobRange;
use crate::error::ApiError;
use crate::hub::Hub;
use crate::store::Device;

/// The hand-written OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Largest JSON body (enrollment, blob announcement, held ids, a roster append).
pub const MAX_JSON: usize = 64 << 10;

/// The pin of the connection's client certificate, if it presented one.
#[derive(Debug, Clone, Default)]
pub struct Peer(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Peer>().cloned().unwrap_or_default())
    }
}

/// What the accept loop knows of a request's connection: the client's address, how
/// long its request bodies may take, and how to drop it.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The client's address.
    pub ip: std::net::IpAddr,
    /// Longest wait for the next piece of a request body.
    pub body_idle: std::time::Duration,
    /// Longest a whole request body may take (connections without an enrolled
    /// certificate: their bodies are small).
    pub body_total: Option<std::time::Duration>,
    /// Notified to drop the connection without an answer.
    pub dropper: Option<Arc<tokio::sync::Notify>>,
}

impl Default for ConnInfo {
    fn default() -> Self {
        ConnInfo {
            ip: std::net::IpAddr::from([0, 0, 0, 0]),
            body_idle: BODY_IDLE,
            body_total: None,
            dropper: None,
        }
    }
}

impl ConnInfo {
    /// Drops the connection, no answer given: a body that did not arrive in time frees
    /// its connection's slot at once.
    pub async fn drop_connection(&self) -> ApiError {
        if let Some(d) = &self.dropper {
            d.notify_one();
            // The connection's task drops this request with the connection.
            std::future::pending::<()>().await;
        }
        ApiError::Malformed("the request body did not arrive in time".into())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ConnInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ConnInfo>()
            .cloned()
            .unwrap_or_default())
    }
}

/// Longest wait for the next piece of an enrolled device's request body.
pub const BODY_IDLE: std::time::Duration = std::time::Duration::from_secs(20);

/// The enrolled, non-revoked device making the request. Looked up for every request, so
/// a revocation applies at once, also on open connections.
#[derive(Debug, Clone)]
pub struct Authed(pub Device);

impl FromRequestParts<Arc<Hub>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        hub: &Arc<Hub>,
    ) -> Result<Self, Self::Rejection> {
        let Peer(pin) = Peer::from_request_parts(parts, hub).await?;
        let hub = hub.clone();
        blocking(move || hub.authenticate(pin.as_deref()))
            .await
            .map(Authed)
    }
}

/// Longest a request's storage work may take before the client is answered `503`
/// (the work itself goes on: every write is atomic, and pushing again is harmless).
pub const WORK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs blocking hub work off the async threads, answering within [`WORK_TIMEOUT`].
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::time::timeout(WORK_TIMEOUT, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            crate::log::error(&format!("a request's work failed: {e}"));
            Err(ApiError::Unavailable(
                "the hub failed on this request: try again later".into(),
            ))
        }
        Err(_) => {
            crate::log::error("a request's storage work took too long");
            Err(ApiError::Unavailable(
                "the hub's storage is too slow to answer right now: try again later".into(),
            ))
        }
    }
}

/// Bodies up to this size are read to their end (and dropped) before a `413`, so that a
/// client writing its whole body before reading gets the answer rather than a reset
/// connection. Larger ones, or a client waiting for `100 Continue`, get the `413` at once.
const DRAIN_LIMIT: u64 = 2 * wire::MAX_BODY as u64;
/// Time given to such a drain.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads a body of at most `limit` bytes: `413` without keeping more than `limit` bytes
/// (nor reading anything when the declared length is already too large and the client
/// waits for `100 Continue`).
async fn read_body(
    conn: &ConnInfo,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let whole = conn.body_total.unwrap_or(std::time::Duration::MAX);
    match tokio::time::timeout(whole, read_body_in_time(conn, headers, body, limit)).await {
        Ok(Ok(Some(bytes))) => Ok(bytes),
        Ok(Err(e)) => Err(e),
        Ok(Ok(None)) | Err(_) => Err(conn.drop_connection().await),
    }
}

/// [`read_body`] with a deadline for each piece; `None` when a piece is late.
async fn read_body_in_time(
    conn: &ConnInfo,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Option<Vec<u8>>, ApiError> {
    let too_large = || {
        ApiError::TooLarge(format!(
            "the request body is larger than the limit of {limit} bytes"
        ))
    };
    let declared = match headers.get(header::CONTENT_LENGTH) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| ApiError::Malformed("a malformed Content-Length".into()))?,
        ),
    };
    let waits = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let mut body = body;
    if declared.is_some_and(|n| n > limit as u64) {
        if !waits && declared.is_some_and(|n| n <= DRAIN_LIMIT) {
            drain(&mut body, 0).await;
        }
        return Err(too_large());
    }
    // Room grows with the bytes that arrive, not with what the header claims: idle
    // connections declaring 16 MiB each would otherwise reserve gigabytes.
    let mut out = Vec::with_capacity(declared.unwrap_or(0).min(64 * 1024) as usize);
    loop {
        let Ok(frame) = tokio::time::timeout(conn.body_idle, body.frame()).await else {
            return Ok(None);
        };
        let Some(frame) = frame else { break };
        let frame = frame
            .map_err(|e| ApiError::Malformed(format!("the request body could not be read: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                drain(&mut body, (out.len() + data.len()) as u64).await;
                return Err(too_large());
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Some(out))
}

/// Reads and drops the rest of a body, up to [`DRAIN_LIMIT`] bytes in all and
/// [`DRAIN_TIME`].
async fn drain(body: &mut Body, mut seen: u64) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len() as u64;
                if seen > DRAIN_LIMIT {
                    return;
                }
            }
        }
    })
    .await;
}

async fn read_json<T: DeserializeOwned>(
    conn: &ConnInfo,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = read_body(conn, headers, body, MAX_JSON).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Malformed(format!("the JSON body cannot be read: {e}")))
}

/// Reads `name=integer` pairs of a query; other names are ignored.
fn query_numbers(query: Option<&str>, names: &[&str]) -> Result<HashMap<String, u64>, ApiError> {
    let mut out = HashMap::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !names.contains(&name) {
            continue;
        }
        let n = value.parse::<u64>().map_err(|_| {
            ApiError::Malformed(format!("the query parameter {name} is not a number"))
        })?;
        out.insert(name.to_string(), n);
    }
    Ok(out)
}

fn blob_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::Malformed(format!("{s:?} is not a blob id (a UUID)")))
}

fn path_error(e: axum::extract::rejection::PathRejection) -> ApiError {
    ApiError::Malformed(format!("the path cannot be read: {e}"))
}

// ----- handlers -----

async fn health(Authed(_): Authed) -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "api": 1}))
}

async fn openapi(Authed(_): Authed) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn enroll(
    State(hub): State<Arc<Hub>>,
    Peer(pin): Peer,
    conn: ConnInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::EnrollResponse>, ApiError> {
    hub.admit_enrollment(conn.ip)?;
    let req: EnrollRequest = read_json(&conn, &headers, body).await?;
    blocking(move || hub.enroll(pin, req)).await.map(Json)
}

async fn enroll_challenge(
    State(hub): State<Arc<Hub>>,
    Peer(pin): Peer,
    conn: ConnInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::EnrollChallenge>, ApiError> {
    hub.admit_enrollment(conn.ip)?;
    let claim: wire::EnrollClaim = read_json(&conn, &headers, body).await?;
    blocking(move || hub.enroll_challenge(pin, claim))
        .await
        .map(Json)
}

async fn held(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    conn: ConnInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::HeldResponse>, ApiError> {
    let req: wire::HeldRequest = read_json(&conn, &headers, body).await?;
    blocking(move || hub.held(&device, req)).await.map(Json)
}

async fn roster(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
) -> Result<Json<wire::Roster>, ApiError> {
    blocking(move || hub.roster(&device)).await.map(Json)
}

async fn append_roster_log(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    conn: ConnInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::roster_log::Head>, ApiError> {
    let req: wire::RosterAppend = read_json(&conn, &headers, body).await?;
    blocking(move || hub.append_roster_log(&device, req))
        .await
        .map(Json)
}

async fn push(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    uri: axum::http::Uri,
    conn: ConnInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let since = query_numbers(uri.query(), &["since"])?
        .get("since")
        .copied();
    let signed_roster = headers.contains_key(SIGNED_ROSTER);
    let bytes = read_body(&conn, &headers, body, wire::MAX_BODY).await?;
    let frames = wire::decode_frames(&bytes)
        .map_err(|e| ApiError::Malformed(format!("the frames cannot be read: {e}")))?;
    drop(bytes);
    let (result, mark) = blocking(move || {
        let mark = current_device(&hub, signed_roster)?;
        let mut result = hub.push(&device, &frames)?;
        // Tell the device whether a pull would bring anything, so that a sync of one
        // changed record is one request.
        if let Some(since) = since {
            let page = hub.pull(&device, since, 1)?;
            let waiting = !page.frames.is_empty() || page.more;
            result.waiting = Some(waiting);
            result.next = (!waiting).then_some(page.next.max(since));
        }
        Ok((result, mark))
    })
    .await?;
    let mut resp = Json(result).into_response();
    roster_header(resp.headers_mut(), &mark);
    Ok(resp)
}

/// Sent by every device that checks the signed roster (`docs/sync-protocol.md` §6a).
const SIGNED_ROSTER: &str = "custos-signed-roster";

/// Once the organisation signs its roster, a device that cannot check it is told to
/// update (instead of syncing on the hub's word). → the roster's mark.
fn current_device(hub: &Hub, signed_roster: bool) -> Result<String, ApiError> {
    let mark = hub.roster_mark();
    if !signed_roster && !mark.is_empty() && mark != "0" {
        return Err(ApiError::SignedRosterNeeded);
    }
    Ok(mark)
}

/// `custos-roster`: where the signed roster stands, so that a device fetches it when it
/// changed (`docs/sync-protocol.md`). None when the store could not say.
fn roster_header(h: &mut HeaderMap, mark: &str) {
    if let Ok(v) = HeaderValue::from_str(mark) {
        if !mark.is_empty() {
            h.insert("custos-roster", v);
        }
    }
}

async fn pull(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let signed_roster = headers.contains_key(SIGNED_ROSTER);
    let q = query_numbers(uri.query(), &["since", "limit", "own"])?;
    let since = q.get("since").copied().unwrap_or(0);
    let limit = q.get("limit").copied().unwrap_or(500);
    if limit == 0 || limit > wire::MAX_PULL as u64 {
        return Err(ApiError::Malformed(format!(
            "limit must be 1 to {}",
            wire::MAX_PULL
        )));
    }
    // own=1: the device's own pushes too (a vault bringing back what it removed for
    // travel, or rebuilt on a new device).
    let own = match q.get("own").copied().unwrap_or(0) {
        0 => false,
        1 => true,
        _ => return Err(ApiError::Malformed("own must be 0 or 1".into())),
    };
    let (page, mark) = blocking(move || {
        let mark = current_device(&hub, signed_roster)?;
        let page = if own {
            hub.pull_including_own(&device, since, limit as usize)?
        } else {
            hub.pull(&device, since, limit as usize)?
        };
        Ok((page, mark))
    })
    .await?;
    let mut body = Vec::with_capacity(page.frames.iter().map(wire::Frame::encoded_len).sum());
    for f in &page.frames {
        f.encode(&mut body).map_err(|e| {
            crate::log::error(&format!("a stored object cannot be sent: {e}"));
            ApiError::Unavailable("the hub holds a damaged object".into())
        })?;
    }
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire::FRAMES_TYPE),
    );
    h.insert("custos-next", HeaderValue::from(page.next));
    h.insert(
        "custos-more",
        HeaderValue::from_static(if page.more { "true" } else { "false" }),
    );
    roster_header(h, &mark);
    Ok(resp)
}

async fn announce_blob(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    conn: ConnInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::BlobState>, ApiError> {
    let id = blob_id(&path.map_err(path_error)?.0)?;
    let a: BlobAnnounce = read_json(&conn, &headers, body).await?;
    blocking(move || hub.announce_blob(&device, id, a))
        .await
        .map(Json)
}

async fn put_chunk(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    conn: ConnInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::BlobState>, ApiError> {
    let Path((id, offset)) = path.map_err(path_error)?;
    let id = blob_id(&id)?;
    let offset = offset
        .parse::<u64>()
        .map_err(|_| ApiError::Malformed(format!("{offset:?} is not an offset")))?;
    let bytes = read_body(&conn, &headers, body, wire::BLOB_CHUNK).await?;
    blocking(move || hub.put_chunk(&device, id, offset, &bytes))
        .await
        .map(Json)
}

async fn blob_info(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<wire::BlobInfo>, ApiError> {
    let id = blob_id(&path.map_err(path_error)?.0)?;
    blocking(move || hub.blob_info(&device, id)).await.map(Json)
}

async fn blob_data(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let id = blob_id(&path.map_err(path_error)?.0)?;
    let q = query_numbers(uri.query(), &["offset", "len"])?;
    let offset = q.get("offset").copied().unwrap_or(0);
    let len = q.get("len").copied();
    let range =
        blocking(move || hub.blob_range(&device, id, offset, len, wire::MAX_BODY as u64)).await?;
    let (body, n) = match range {
        BlobRange::File(file, n) => {
            let file = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), n);
            (
                Body::from_stream(tokio_util::io::ReaderStream::new(file)),
                n,
            )
        }
        BlobRange::Bytes(bytes) => {
            let n = bytes.len() as u64;
            (Body::from(bytes), n)
        }
    };
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    Ok(resp)
}

async fn no_route() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

async fn wrong_method(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(format!("this endpoint does not accept {method}"))
}

/// Builds the router while listing its routes (for the API description's test).
struct Routes {
    router: Router<Arc<Hub>>,
    list: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        handler: MethodRouter<Arc<Hub>>,
    ) -> Self {
        self.list.push((method, path));
        self.router = self.router.route(path, handler);
        self
    }
}

fn build(hub: Arc<Hub>) -> (Router, Vec<(&'static str, &'static str)>) {
    let r = Routes {
        router: Router::new(),
        list: Vec::new(),
    }
    .add("get", "/v1/health", get(health))
    .add("get", "/v1/openapi.json", get(openapi))
    .add("post", "/v1/enroll", post(enroll))
    .add("post", "/v1/enroll/challenge", post(enroll_challenge))
    .add("get", "/v1/roster", get(roster))
    .add("post", "/v1/roster/log", post(append_roster_log))
    .add("post", "/v1/objects", post(push))
    .add("get", "/v1/objects", get(pull))
    .add("post", "/v1/objects/held", post(held))
    .add("post", "/v1/blobs/{id}", post(announce_blob))
    .add("get", "/v1/blobs/{id}", get(blob_info))
    .add("put", "/v1/blobs/{id}/{offset}", put(put_chunk))
    .add("get", "/v1/blobs/{id}/data", get(blob_data));
    let router = r
        .router
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(hub);
    (router, r.list)
}

/// The answer while the store cannot be reached.
pub fn unavailable_storage() -> ApiError {
    ApiError::Unavailable("the hub cannot reach its storage right now: try again later".into())
}

/// The routes a connection without an enrolled certificate may reach: enrollment.
pub fn is_enrollment(method: &Method, path: &str) -> bool {
    method == Method::POST && matches!(path, "/v1/enroll" | "/v1/enroll/challenge")
}

/// While a pin rotation is prepared, every answer to an enrolled device names the next
/// pin, so that a device learns it on its next sync, whatever that sync asks for.
pub fn announce_next_pin(hub: &Hub, resp: &mut Response) {
    if let Some(pin) = hub.next_pin().and_then(|p| HeaderValue::from_str(&p).ok()) {
        resp.headers_mut().insert("custos-next-pin", pin);
    }
}

/// The API router over a hub.
pub fn router(hub: Arc<Hub>) -> Router {
    build(hub).0
}

/// Every (method, path) the router serves, paths in OpenAPI template syntax.
pub fn routes(hub: Arc<Hub>) -> Vec<(&'static str, &'static str)> {
    build(hub).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::DataDir;

    #[test]
    fn the_api_description_lists_every_route_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let hub = Arc::new(Hub::open(DataDir::new(tmp.path().join("hub"))).unwrap());
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let routes = routes(hub);
        for (method, path) in &routes {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is not in openapi.json"
            );
        }
        for (path, item) in paths {
            for method in ["get", "post", "put", "delete", "patch"] {
                if item.get(method).is_some() {
                    assert!(
                        routes.contains(&(method, path.as_str())),
                        "openapi.json describes {method} {path}, which the hub does not serve"
                    );
                }
            }
        }
        // Every reference points at something.
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        match (k.as_str(), v) {
                            ("$ref", serde_json::Value::String(s)) => out.push(s.clone()),
                            _ => refs(v, out),
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let pointer = r.strip_prefix('#').unwrap();
            assert!(doc.pointer(pointer).is_some(), "dangling {r}");
        }
    }

    /// One error of each kind: a new kind fails to compile here until it is added, and
    /// then the test below until its code is listed where codes are.
    fn every_error() -> Vec<ApiError> {
        let all = vec![
            ApiError::Malformed(String::new()),
            ApiError::NotEnrolled(String::new()),
            ApiError::InvalidInvite,
            ApiError::Revoked,
            ApiError::NotFound(String::new()),
            ApiError::MethodNotAllowed(String::new()),
            ApiError::OffsetMismatch(0),
            ApiError::BlobMismatch,
            ApiError::InviteExpired,
            ApiError::InviteUsed,
            ApiError::TooLarge(String::new()),
            ApiError::BlobHashMismatch,
            ApiError::ProofFailed(String::new()),
            ApiError::UpdateNeeded,
            ApiError::SignedRosterNeeded,
            ApiError::NotCoordinator,
            ApiError::RosterInvalid(String::new()),
            ApiError::RosterConflict(0),
            ApiError::Unavailable(String::new()),
            ApiError::QuotaExceeded(String::new()),
            ApiError::RateLimited,
        ];
        for e in &all {
            match e {
                ApiError::Malformed(_)
                | ApiError::NotEnrolled(_)
                | ApiError::InvalidInvite
                | ApiError::Revoked
                | ApiError::NotFound(_)
                | ApiError::MethodNotAllowed(_)
                | ApiError::OffsetMismatch(_)
                | ApiError::BlobMismatch
                | ApiError::InviteExpired
                | ApiError::InviteUsed
                | ApiError::TooLarge(_)
                | ApiError::BlobHashMismatch
                | ApiError::ProofFailed(_)
                | ApiError::UpdateNeeded
                | ApiError::SignedRosterNeeded
                | ApiError::NotCoordinator
                | ApiError::RosterInvalid(_)
                | ApiError::RosterConflict(_)
                | ApiError::Unavailable(_)
                | ApiError::QuotaExceeded(_)
                | ApiError::RateLimited => {}
            }
        }
        all
    }

    #[test]
    fn every_error_code_is_in_the_api_description_and_the_protocol() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        let listed: Vec<&str> = doc["components"]["schemas"]["Error"]["properties"]["error"]
            ["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let protocol = include_str!("../../docs/sync-protocol.md");
        let table = &protocol[protocol.find("## 3. Errors").unwrap()..];
        let table = &table[..table.find("## 4.").unwrap()];
        let mut codes: Vec<&str> = every_error().iter().map(ApiError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in &codes {
            assert!(
                listed.contains(code),
                "{code} is not in openapi.json's Error"
            );
            let row = table
                .lines()
                .find(|l| l.starts_with('|') && l.contains(&format!("`{code}`")));
            assert!(row.is_some(), "{code} is not in docs/sync-protocol.md §3");
        }
        for code in listed {
            assert!(
                codes.contains(&code),
                "openapi.json lists {code}, which no error has"
            );
        }
    }

    #[test]
    fn query_numbers_are_checked() {
        let q = query_numbers(Some("since=5&limit=10&x=y"), &["since", "limit"]).unwrap();
        assert_eq!((q["since"], q["limit"]), (5, 10));
        assert!(query_numbers(Some("since=-1"), &["since"]).is_err());
        assert!(query_numbers(Some("since"), &["since"]).is_err());
        assert!(query_numbers(None, &["since"]).unwrap().is_empty());
    }
}
