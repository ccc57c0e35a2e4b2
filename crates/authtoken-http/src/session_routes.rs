//! The logic of `GET /sessions`, `DELETE /sessions/{id}` and `POST /logout-others` for one
//! backend: a user's sessions, listed and ended, free of any web framework.

use authtoken::{Session, SessionStrategy};
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

use crate::response::{AuthResponse, detail, empty, json, no_store};
use crate::routes::AuthRoutes;
use crate::{AuthUser, Authenticated, Credentials};

impl<U: AuthUser, C: Credentials<U>> AuthRoutes<U, C> {
    /// `GET /sessions`: the user's live sessions as JSON, most recently active first (`id`,
    /// `created_at`, `last_seen_at`, `expires_at`, `current`, and an API token's `name` and
    /// `scopes`, the client's `user_agent` and `address` where the store keeps them),
    /// `Cache-Control: no-store`; 401 without a valid token; 403 for a scoped API token unless it
    /// holds the routes' scope ([`with_sessions_scope`](Self::with_sessions_scope)) or its
    /// backend accepts scoped tokens everywhere; 404 when the backend serves no
    /// sessions ([`AuthBackend::with_sessions`](crate::AuthBackend::with_sessions)).
    pub async fn sessions(&self, headers: &HeaderMap) -> AuthResponse {
        let (sessions, found) = match self.session_user(&Method::GET, headers).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        match sessions.list_sessions(&found.user, found.token.expose_secret()).await {
            Ok(list) => {
                let body = Value::Array(list.iter().map(session_json).collect());
                no_store(json(StatusCode::OK, &body))
            }
            Err(error) => self.fail(error),
        }
    }

    /// `DELETE /sessions/{id}`: ends the user's session `id` (204); 404 for an unknown id, a
    /// malformed one (refused before the store is asked) and another user's alike, so ids
    /// cannot be probed; 401, 403 (cross-site on a cookie backend, a scoped token) as the other
    /// routes.
    pub async fn end_session(&self, headers: &HeaderMap, id: &str) -> AuthResponse {
        let (sessions, found) = match self.session_user(&Method::DELETE, headers).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        // With refresh tokens a session is a family: ended whole, or a refresh token would
        // mint it again.
        if let Some(tokens) = self.backend().refresh() {
            match tokens.end_session(&found.user, id).await {
                Ok(true) => return no_store(empty(StatusCode::NO_CONTENT)),
                Ok(false) => {}
                Err(error) => return self.fail(error),
            }
        }
        match sessions.end_session(&found.user, id).await {
            Ok(true) => no_store(empty(StatusCode::NO_CONTENT)),
            Ok(false) => not_found(),
            Err(error) => self.fail(error),
        }
    }

    /// `POST /logout-others`: ends every session of the user but the one asking (204); 401 and
    /// 403 as the other routes.
    pub async fn logout_others(&self, headers: &HeaderMap) -> AuthResponse {
        let (sessions, found) = match self.session_user(&Method::POST, headers).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        let current = found.token.expose_secret();
        if let Some(tokens) = self.backend().refresh()
            && let Err(error) = tokens.end_others(&found.user, current).await
        {
            return self.fail(error);
        }
        match sessions.end_other_sessions(&found.user, current).await {
            Ok(_) => no_store(empty(StatusCode::NO_CONTENT)),
            Err(error) => self.fail(error),
        }
    }
}

impl<U: AuthUser, C: Credentials<U>> AuthRoutes<U, C> {
    /// The backend's sessions and the active user asking, or the answer that ends the request:
    /// 404 without sessions, the refusal of an anonymous, cross-site or scoped request.
    async fn session_user(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<(&dyn SessionStrategy<U>, Authenticated<U>), AuthResponse> {
        let Some(sessions) = self.backend().sessions() else { return Err(not_found()) };
        match self.current_on(method, headers, self.sessions_scope.as_deref()).await {
            Ok(found) => Ok((sessions, found)),
            Err(rejection) => Err(self.refuse(rejection, headers)),
        }
    }
}

/// 404 `SESSION_NOT_FOUND`.
fn not_found() -> AuthResponse {
    no_store(detail(StatusCode::NOT_FOUND, "SESSION_NOT_FOUND"))
}

/// One session as the listing shows it: never the token or its stored key.
fn session_json(session: &Session) -> Value {
    let time = |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339();
    json!({
        "id": session.id.as_str(),
        "created_at": time(session.created_at),
        "last_seen_at": time(session.last_seen_at),
        "expires_at": session.expires_at.map(time),
        "current": session.current,
        "name": session.name,
        "scopes": session.scopes,
        "user_agent": session.user_agent,
        "address": session.address,
    })
}
