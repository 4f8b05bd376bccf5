//! Who is calling (SSR only): the session the server's middleware resolved for this request.
//!
//! The middleware puts `Option<CurrentUser>` and `RequestMeta` in the request extensions;
//! server functions and SSR read them from the request `Parts` that leptos_axum provides.

use crate::error::AppError;
use crate::services::RequestMeta;
use crate::types::CurrentUser;
use http::request::Parts;
use leptos::prelude::use_context;

/// The signed-in user, or `Unauthorized`.
pub fn require_user() -> Result<CurrentUser, AppError> {
    use_context::<Parts>().and_then(|parts| parts.extensions.get::<CurrentUser>().cloned()).ok_or(AppError::Unauthorized)
}

/// The signed-in user if it is an admin; `Forbidden` for technicians.
pub fn require_admin() -> Result<CurrentUser, AppError> {
    let user = require_user()?;
    if user.is_admin() {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

/// Client address, user agent and session cookie of this request.
pub fn request_meta() -> RequestMeta {
    use_context::<Parts>().and_then(|parts| parts.extensions.get::<RequestMeta>().cloned()).unwrap_or_default()
}
