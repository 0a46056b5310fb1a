//! Refusals as pages, with the same status and words as the JSON answer.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::{AppError, Code, Internal, Kind};
use crate::http::error::{add_refusal_headers, log_internal, status_of};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    title: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
    code: &'a str,
    back_href: &'a str,
    back_label: &'a str,
}

/// An `AppError` raised by a page handler: rendered as HTML.
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(err: AppError) -> Self {
        PageError(err)
    }
}

fn title_of(kind: Kind) -> &'static str {
    match kind {
        Kind::BadRequest => "That did not work",
        Kind::Unauthenticated => "Please sign in",
        Kind::Forbidden => "Not allowed",
        Kind::NotFound => "Page not found",
        Kind::MethodNotAllowed => "That did not work",
        Kind::Conflict => "That did not work",
        Kind::PayloadTooLarge => "Too large",
        Kind::UnsupportedMediaType => "That did not work",
        Kind::TooManyRequests { .. } => "Too many attempts",
        Kind::BadGateway => "Sign-in service unavailable",
    }
}

pub fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            log_internal(&Internal::with_source("rendering a page template", err));
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_response(self.0, "/login?local=1", "Back to sign in")
    }
}

impl PageError {
    /// The page for someone already signed in: the way back leads home.
    pub fn signed_in(self) -> Response {
        error_response(self.0, "/", "Back to the start")
    }
}

fn error_response(err: AppError, back_href: &str, back_label: &str) -> Response {
    match err {
        AppError::Refused(refusal) => {
            let page = ErrorTemplate {
                title: title_of(refusal.kind),
                message: &refusal.message,
                hint: refusal.hint.as_deref(),
                code: refusal.code.as_str(),
                back_href,
                back_label,
            };
            let mut response = render(&page, status_of(refusal.kind));
            add_refusal_headers(&mut response, &refusal);
            response
        }
        AppError::Internal(detail) => {
            log_internal(&detail);
            let page = ErrorTemplate {
                title: "Something went wrong",
                message: "Something went wrong on the server. Please try again in a moment.",
                hint: Some("The server log has the details."),
                code: "internal_error",
                back_href: "/",
                back_label: "Back to the start",
            };
            render(&page, StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

pub fn not_found_page() -> Response {
    let page = ErrorTemplate {
        title: "Page not found",
        message: "There is no page at this address.",
        hint: None,
        code: Code::NotFound.as_str(),
        back_href: "/",
        back_label: "Back to the start",
    };
    render(&page, StatusCode::NOT_FOUND)
}
