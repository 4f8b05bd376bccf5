//! Turning server-side failures into `AppError` without leaking detail to the browser.

use app::error::AppError;

/// Logs the full cause chain once and returns the text-free `Internal`.
pub fn internal(err: impl Into<anyhow::Error>) -> AppError {
    let err: anyhow::Error = err.into();
    tracing::error!(error = ?err, "internal error");
    AppError::Internal
}

/// An Autotask failure, shown to the user as a conflict with its plain-words cause.
pub fn autotask_problem(e: crate::autotask::AutotaskError) -> AppError {
    AppError::Conflict(e.to_string())
}

impl From<crate::services::connection::ConnectionProblem> for AppError {
    /// The partner's connection is missing or unusable: the message says what to fix.
    fn from(p: crate::services::connection::ConnectionProblem) -> Self {
        AppError::Conflict(p.message)
    }
}

/// Maps unique-constraint violations to a friendly error, anything else to `Internal`.
pub trait SqlxResultExt<T> {
    /// `f` is called when the failure is a unique violation (any constraint).
    fn on_unique(self, f: impl FnOnce() -> AppError) -> Result<T, AppError>;
    /// Every failure becomes `Internal` (logged).
    fn internal(self) -> Result<T, AppError>;
}

impl<T> SqlxResultExt<T> for Result<T, sqlx::Error> {
    fn on_unique(self, f: impl FnOnce() -> AppError) -> Result<T, AppError> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => f(),
            _ => internal(e),
        })
    }

    fn internal(self) -> Result<T, AppError> {
        self.map_err(internal)
    }
}
