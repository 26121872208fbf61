//! The protocol's errors (`docs/sync-protocol.md` §3) and their JSON answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use custos_wire::ErrorBody;

use crate::store::StoreError;

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the body or query cannot be parsed; nothing was stored.
    #[error("{0}")]
    Malformed(String),
    /// 401: no client certificate, or not an enrolled device.
    #[error("{0}")]
    NotEnrolled(String),
    /// 401: the invite token is unknown.
    #[error("this invite is not known to the hub")]
    InvalidInvite,
    /// 403: the device was revoked.
    #[error("this device was revoked by the hub's administrator")]
    Revoked,
    /// 404: no such blob (or endpoint).
    #[error("{0}")]
    NotFound(String),
    /// 405: the endpoint exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: a chunk at the wrong offset; carries what the hub has received.
    #[error("the hub has received {0} bytes of this blob: send the chunk at offset {0}")]
    OffsetMismatch(u64),
    /// 409: a blob announced again with another size or hash.
    #[error("this blob was announced before with another size or hash")]
    BlobMismatch,
    /// 410: the invite expired.
    #[error("this invite has expired: ask for a new one")]
    InviteExpired,
    /// 410: another device used the invite.
    #[error("this invite was already used by another device: ask for a new one")]
    InviteUsed,
    /// 413: a body above the limits.
    #[error("{0}")]
    TooLarge(String),
    /// 422: the finished blob's hash differs; the hub discarded it.
    #[error(
        "the blob's SHA-256 differs from the announced one; the hub discarded it: upload it again"
    )]
    BlobHashMismatch,
    /// 403: the device did not prove that it holds the keys it enrolls with.
    #[error("{0}")]
    ProofFailed(String),
    /// 400: a device of before the enrollment challenge.
    #[error(
        "this version of the app cannot enroll with this hub: the hub asks every device to \
         prove that it holds the keys it enrolls with. Update the app, then enroll with the \
         same invite (it was not used)"
    )]
    UpdateNeeded,
    /// 400: a device of before the signed roster, once the organisation signs it.
    #[error(
        "your organisation now signs its roster with its own key, and this version of \
         Custos cannot check it: update Custos on this device to sync again (nothing on it \
         is lost)"
    )]
    SignedRosterNeeded,
    /// 403: a change of the organisation's signed roster from a device that is not a
    /// coordinator's.
    #[error(
        "only a coordinator's device may change the organisation's signed roster, and this \
         device is a field device"
    )]
    NotCoordinator,
    /// 400: roster entries that do not verify with the organisation key after the log the
    /// hub holds (why); nothing was stored.
    #[error("the roster entries were refused: {0}; nothing was stored")]
    RosterInvalid(String),
    /// 409: a roster append built on an entry that is no longer the last; carries the
    /// last entry the hub has.
    #[error(
        "the organisation's roster has moved on (its last entry is {0}): fetch it, check \
         it and sign the change again after its last entry; nothing was stored"
    )]
    RosterConflict(u64),
    /// 503: a temporary fault on the hub.
    #[error("{0}")]
    Unavailable(String),
    /// 413: the device would keep more objects or evidence bytes on the hub than its
    /// quota allows (what, in words); nothing of the request was stored.
    #[error("{0}; nothing of this request was stored")]
    QuotaExceeded(String),
    /// 429: too many enrollment requests from this address; try again later.
    #[error("too many requests from this address: try again in a minute")]
    RateLimited,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::NotEnrolled(_) | ApiError::InvalidInvite => StatusCode::UNAUTHORIZED,
            ApiError::Revoked | ApiError::ProofFailed(_) | ApiError::NotCoordinator => {
                StatusCode::FORBIDDEN
            }
            ApiError::UpdateNeeded | ApiError::SignedRosterNeeded | ApiError::RosterInvalid(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::OffsetMismatch(_) | ApiError::BlobMismatch | ApiError::RosterConflict(_) => {
                StatusCode::CONFLICT
            }
            ApiError::InviteExpired | ApiError::InviteUsed => StatusCode::GONE,
            ApiError::TooLarge(_) | ApiError::QuotaExceeded(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BlobHashMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) | ApiError::MethodNotAllowed(_) => "malformed",
            ApiError::NotEnrolled(_) => "not_enrolled",
            ApiError::InvalidInvite => "invalid_invite",
            ApiError::Revoked => "revoked",
            ApiError::ProofFailed(_) => "proof_failed",
            ApiError::UpdateNeeded | ApiError::SignedRosterNeeded => "update_needed",
            ApiError::NotFound(_) => "not_found",
            ApiError::OffsetMismatch(_) => "offset_mismatch",
            ApiError::BlobMismatch => "blob_mismatch",
            ApiError::InviteExpired => "invite_expired",
            ApiError::InviteUsed => "invite_used",
            ApiError::TooLarge(_) => "too_large",
            ApiError::BlobHashMismatch => "blob_hash_mismatch",
            ApiError::NotCoordinator => "not_coordinator",
            ApiError::RosterInvalid(_) => "roster_invalid",
            ApiError::RosterConflict(_) => "roster_conflict",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::QuotaExceeded(_) => "quota_exceeded",
            ApiError::RateLimited => "rate_limited",
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code().to_string(),
            message: self.to_string(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        crate::log::error(&e.to_string());
        ApiError::Unavailable("the hub cannot reach its storage right now: try again later".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.body())).into_response()
    }
}
