//! Receiving an upload form, for the API and the library page alike: the
//! small text fields first, then the one file, streamed to the library
//! (which holds it to ROMGATE_MAX_UPLOAD_BYTES).

use std::collections::HashMap;

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;

use crate::auth::Principal;
use crate::error::{AppError, AppResult, Code};
use crate::store::Rom;
use crate::web::state::AppState;

/// Largest text field of an upload form, and how many there may be.
const MAX_TEXT_FIELD: usize = 4096;
const MAX_TEXT_FIELDS: usize = 16;

/// The refusal of a body that is not the expected multipart form.
pub fn not_multipart() -> AppError {
    AppError::bad_request(
        Code::InvalidMultipart,
        "Send the upload as multipart/form-data, with the platform field first and then the file.",
    )
}

fn multipart_error(err: MultipartError, limit: u64) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        crate::library::too_large(limit)
    } else {
        not_multipart()
    }
}

/// Reads an upload form: small text fields first, handed to `platform_of`
/// (which may also refuse, for example on a bad CSRF field), then the one
/// file, streamed to the library. Nothing is written before `platform_of`
/// agrees; nothing stays behind when the body breaks off.
pub async fn receive_upload(
    state: &AppState,
    actor: &Principal,
    mut multipart: Multipart,
    platform_of: impl FnOnce(&HashMap<String, String>) -> AppResult<String>,
) -> AppResult<Rom> {
    let library = &state.library;
    let limit = library.max_upload_bytes();
    let now = state.now();
    let mut fields = HashMap::new();
    let mut platform_of = Some(platform_of);
    let mut upload = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| multipart_error(e, limit))? {
        let Some(file_name) = field.file_name().map(str::to_string) else {
            let name = field.name().unwrap_or_default().to_string();
            if fields.len() >= MAX_TEXT_FIELDS {
                return Err(not_multipart());
            }
            fields.insert(name, small_text(&mut field).await?);
            continue;
        };
        let Some(platform_of) = platform_of.take() else {
            return Err(AppError::bad_request(Code::OneFile, "Upload one file at a time."));
        };
        let platform = platform_of(&fields)?;
        let mut started = library.begin_upload(actor, &platform, &file_name).await?;
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
            started.write(&chunk).await?;
        }
        upload = Some(started);
    }
    let upload = upload.ok_or_else(|| AppError::bad_request(Code::MissingFile, "The upload has no file."))?;
    upload.finish(library, now).await
}

async fn small_text(field: &mut Field<'_>) -> AppResult<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| not_multipart())? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(AppError::bad_request(Code::FieldTooLarge, "A form field is too long."));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| not_multipart())
}
