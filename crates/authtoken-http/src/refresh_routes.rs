//! The logic of `POST /refresh` for one backend, and how a backend with refresh tokens answers a
//! login and a logout: the pair in the OAuth token response, or in two cookies for a browser.

use authtoken::refresh::{Refreshed, TokenPair};
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE};
use http::{Method, StatusCode};
use serde_json::Value;

use crate::response::{AuthResponse, detail, json, no_store};
use crate::routes::{AuthRoutes, LoginRequest, MAX_LOGIN_BODY, form_field};
use crate::{AuthRejection, AuthUser, Credentials};

/// What `POST /refresh` needs of a request: the same parts as a login's (headers, the peer's
/// address, the form body, which holds `refresh_token` for a client that keeps its tokens).
pub type RefreshRequest<'a> = LoginRequest<'a>;

impl<U: AuthUser, C: Credentials<U>> AuthRoutes<U, C> {
    /// `POST /refresh`: spends the presented refresh token for a new pair. A client that keeps
    /// its tokens sends the form `refresh_token=…` (`grant_type=refresh_token` may come with it,
    /// as OAuth's token endpoint takes it) and gets 200 with `{"access_token", "token_type",
    /// "expires_in", "refresh_token"}`; a browser sends its refresh cookie and gets 204 with
    /// both cookies set again. 401 `REFRESH_TOKEN_INVALID` for a missing, unknown, expired or
    /// spent token alike (a spent one presented after the grace window ends its family), and
    /// for a user no longer active (their family ended); 403 for a cross-site request to a
    /// cookie backend; 404 when the backend issues no refresh tokens; 413 for a body over
    /// [`MAX_LOGIN_BODY`]; 500 when a store fails (the token is then not spent).
    pub async fn refresh(&self, request: RefreshRequest<'_>) -> AuthResponse {
        let Some(tokens) = self.backend().refresh() else {
            return no_store(detail(StatusCode::NOT_FOUND, "REFRESH_NOT_ENABLED"));
        };
        if !self.transport().allows(&Method::POST, request.headers) {
            return self.refuse(AuthRejection::CrossSite, request.headers);
        }
        if request.body.len() > MAX_LOGIN_BODY {
            return no_store(detail(StatusCode::PAYLOAD_TOO_LARGE, "REFRESH_BODY_TOO_LARGE"));
        }
        let presented = match self.transport().refresh_cookie() {
            Some(cookie) => cookie.read(request.headers).map(|t| t.expose_secret().to_owned()),
            None => match form_field(request.body, "grant_type").as_deref() {
                None | Some("refresh_token") => form_field(request.body, "refresh_token"),
                Some(_) => {
                    return no_store(detail(StatusCode::BAD_REQUEST, "UNSUPPORTED_GRANT_TYPE"));
                }
            },
        };
        let Some(presented) = presented else { return self.refresh_refused() };
        let address = self.addressing().resolve(request.client, request.headers);
        let client = self.addressing().client_info(address, request.headers);
        let pair = match tokens.refresh(&presented, &client).await {
            Ok(Refreshed::Rotated(pair)) => pair,
            Ok(Refreshed::Refused(_)) => return self.refresh_refused(),
            Err(error) => return self.fail(error),
        };
        // The user may have been deactivated or deleted since the login: the family ends.
        match self.strategy().read(pair.access_token.expose_secret()).await {
            Ok(Some((user, _))) if user.is_active() => self.pair_response(pair),
            Ok(_) => match tokens.end_family(&pair.family).await {
                Ok(_) => self.refresh_refused(),
                Err(error) => self.fail(error),
            },
            Err(error) => self.fail(error),
        }
    }

    /// A login's or a refresh's answer with refresh tokens on.
    pub(crate) fn pair_response(&self, pair: TokenPair) -> AuthResponse {
        let Some(tokens) = self.backend().refresh() else {
            return self.transport().login_response(pair.access_token);
        };
        match self.transport().refresh_cookie() {
            Some(cookie) => {
                let set = cookie.set(pair.refresh_token.expose_secret(), tokens.idle_timeout());
                let mut response = self.transport().login_response(pair.access_token);
                response.headers_mut().extend(set.map(|value| (SET_COOKIE, value)));
                response
            }
            None => {
                let expires_in = pair.expires_in.as_secs();
                let refresh_token = pair.refresh_token.into_secret();
                let response = self.transport().login_response(pair.access_token);
                with_refresh_fields(response, expires_in, refresh_token)
            }
        }
    }

    /// The transport's logout answer, dropping the refresh cookie too where there is one.
    pub(crate) fn logout_response(&self) -> AuthResponse {
        let mut response = self.transport().logout_response();
        self.drop_refresh_cookie(&mut response);
        response
    }

    /// 401 `REFRESH_TOKEN_INVALID`, dropping the refresh cookie where there is one.
    fn refresh_refused(&self) -> AuthResponse {
        let mut response = no_store(detail(StatusCode::UNAUTHORIZED, "REFRESH_TOKEN_INVALID"));
        self.drop_refresh_cookie(&mut response);
        response
    }

    fn drop_refresh_cookie(&self, response: &mut AuthResponse) {
        if self.backend().refresh().is_some()
            && let Some(clear) = self.transport().refresh_cookie().and_then(|c| c.clear())
        {
            response.headers_mut().append(SET_COOKIE, clear);
        }
    }
}

/// The transport's JSON login answer with `expires_in` and `refresh_token` added: the OAuth
/// token response. A transport whose login answer is not a JSON object gets one of its own.
fn with_refresh_fields(response: AuthResponse, expires_in: u64, refresh: String) -> AuthResponse {
    let (parts, body) = response.into_parts();
    let mut fields = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(fields)) => fields,
        _ => serde_json::Map::new(),
    };
    fields.insert("expires_in".into(), expires_in.into());
    fields.insert("refresh_token".into(), refresh.into());
    let mut answer = no_store(json(StatusCode::OK, &Value::Object(fields)));
    let set_here = [CONTENT_TYPE, CONTENT_LENGTH, CACHE_CONTROL];
    for (name, value) in parts.headers.iter().filter(|(name, _)| !set_here.contains(name)) {
        answer.headers_mut().append(name, value.clone());
    }
    answer
}
