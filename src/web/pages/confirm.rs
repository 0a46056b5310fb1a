//! "Delete X?" pages: a destructive page form is two steps, without
//! JavaScript. The list links to a GET page that asks; its form posts to
//! the action with `confirm=yes`. A post without it (an old one-click form,
//! a forged link) changes nothing and is sent to the question.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::web::error::render;

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub csrf_token: String,
    pub is_admin: bool,
    pub question: String,
    pub detail: String,
    pub button: String,
    /// Where the confirming form posts (and where the question is asked).
    pub action: String,
    pub cancel_href: String,
}

impl ConfirmPage {
    pub fn response(&self) -> Response {
        render(self, StatusCode::OK)
    }
}

/// A destructive form's fields: its CSRF token and the confirmation.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub confirm: String,
}

impl ConfirmForm {
    /// The person confirmed; else the caller sends them to the question
    /// (`ask_first`) and changes nothing.
    pub fn confirmed(&self) -> bool {
        self.confirm == "yes"
    }
}

/// The answer to an unconfirmed destructive post: the question page.
pub fn ask_first(question_href: &str) -> Response {
    Redirect::to(question_href).into_response()
}
