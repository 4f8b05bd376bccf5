//! Sign-in, sign-out and "who am I".

use crate::error::AppError;
use crate::types::{CurrentUser, SiteInfo};
use leptos::prelude::*;

/// Facts the sign-in page may show (demo credentials in demo mode only).
#[server(prefix = "/rpc", endpoint = "get_site_info")]
pub async fn get_site_info() -> Result<SiteInfo, AppError> {
    Ok(crate::services::services()?.site)
}

/// The signed-in user, or `Unauthorized`.
#[server(prefix = "/rpc", endpoint = "get_current_user")]
pub async fn get_current_user() -> Result<CurrentUser, AppError> {
    crate::auth::require_user()
}

/// Checks the credentials, sets the session cookie and goes to `next`.
#[server(prefix = "/rpc", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let services = crate::services::services()?;
    let meta = crate::auth::request_meta();
    let session = services.auth.sign_in(&email, &password, &meta).await?;
    let cookie = session_cookie(services.auth.cookie_name(), &session.token, None, meta.secure_cookies);
    set_cookie(&cookie)?;
    leptos_axum::redirect(&crate::types::safe_next_path(next.as_deref().unwrap_or("/")));
    Ok(())
}

/// Changes the signed-in user's own password (the current one is asked again).
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let meta = crate::auth::request_meta();
    crate::services::services()?.auth.change_password(&user, &current_password, &new_password, &meta).await
}

/// Ends the session, clears the cookie and goes to the sign-in page.
#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let services = crate::services::services()?;
    let meta = crate::auth::request_meta();
    if let Some(token) = meta.session_token.as_deref() {
        services.auth.sign_out(token).await?;
    }
    set_cookie(&session_cookie(services.auth.cookie_name(), "", Some(0), meta.secure_cookies))?;
    leptos_axum::redirect("/signin");
    Ok(())
}

/// The `Set-Cookie` value for the session: HttpOnly, SameSite=Lax, Secure behind https.
#[cfg(feature = "ssr")]
pub fn session_cookie(name: &str, value: &str, max_age_secs: Option<i64>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    // No Max-Age on a session: the browser forgets it when it closes, and the server ends
    // it on its own idle and absolute limits. Only clearing sends Max-Age=0.
    let max_age = max_age_secs.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{max_age}{secure}")
}

#[cfg(feature = "ssr")]
fn set_cookie(cookie: &str) -> Result<(), AppError> {
    let response = use_context::<leptos_axum::ResponseOptions>().ok_or(AppError::Internal)?;
    let value = http::HeaderValue::from_str(cookie).map_err(|_| AppError::Internal)?;
    response.append_header(http::header::SET_COOKIE, value);
    Ok(())
}
