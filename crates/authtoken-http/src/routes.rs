//! The logic of `POST /login`, `POST /logout` and `POST /logout-all` for one backend, free of any
//! web framework: bytes and headers in, an [`AuthResponse`] out. The session routes are in
//! `session_routes.rs`, `POST /refresh` in `refresh_routes.rs`.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use authtoken::BoxError;
use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::client_address::ClientAddressing;
use crate::response::{AuthResponse, detail, no_store};
use crate::{
    AuthRejection, AuthUser, Authenticated, Authenticator, ConfigError, LoginThrottle, Reservation,
    ThrottleKey,
};

/// The largest login body read: a username and a password fit many times over, and a larger
/// body is refused with 413 before it is parsed.
pub const MAX_LOGIN_BODY: usize = 16 * 1024;

/// What `POST /login` needs of a request. `Debug` leaves out the body (it holds a password).
#[derive(Clone, Copy)]
pub struct LoginRequest<'a> {
    /// The request's headers (for the cross-site check of cookie backends).
    pub headers: &'a HeaderMap,
    /// The connection's peer address, if the server knows it (for throttling by address, and
    /// the session's address; behind a trusted proxy, see
    /// [`AuthRoutes::with_trusted_proxy`]).
    pub client: Option<IpAddr>,
    /// The form body; an adapter may stop reading past [`MAX_LOGIN_BODY`] and pass what it has.
    pub body: &'a [u8],
}

/// Checks a username and password: the application's side of `POST /login`.
pub trait Credentials<U>: Send + Sync + 'static {
    /// The user these credentials belong to; `None` for an unknown user or a wrong password.
    ///
    /// Take the same time for both (verify against a dummy hash when the user is unknown), so
    /// that response times do not tell which usernames exist.
    fn verify(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Result<Option<U>, BoxError>> + Send;

    /// The name login attempts for `username` are throttled under: by default
    /// [`authtoken::throttle::normalize_username`] (cut to 256 bytes, control characters and
    /// surrounding space removed, lowercased). Override it when the user lookup folds more names
    /// into one account than that (Unicode normalisation, an email's `+tag`): every spelling
    /// the lookup resolves to one account must give one name here, or each spelling gets its own
    /// free attempts.
    fn throttle_name(&self, username: &str) -> String {
        authtoken::throttle::normalize_username(username)
    }
}

impl std::fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("client", &self.client)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish_non_exhaustive()
    }
}

/// Login and logout for one backend of an [`Authenticator`].
pub struct AuthRoutes<U, C> {
    auth: Authenticator<U>,
    backend: usize,
    credentials: C,
    throttle: Option<Arc<dyn LoginThrottle>>,
    addressing: ClientAddressing,
    /// The scope that lets an API token use the session routes (none by default).
    pub(crate) sessions_scope: Option<String>,
}

impl<U: AuthUser, C: Credentials<U>> AuthRoutes<U, C> {
    /// The routes of the backend called `backend`.
    pub fn new(auth: Authenticator<U>, backend: &str, credentials: C) -> Result<Self, ConfigError> {
        let index = auth.index_of(backend)?;
        let chosen = auth.backend(index);
        if chosen.refresh().is_some()
            && chosen.transport().refresh_cookie().is_some_and(|cookie| cookie.path.is_none())
        {
            return Err(ConfigError::RefreshPath(backend.to_owned()));
        }
        let backend = index;
        let addressing = ClientAddressing::default();
        Ok(Self { auth, backend, credentials, throttle: None, addressing, sessions_scope: None })
    }

    /// Trusts the peers of `network/prefix` (`127.0.0.1/32`, `10.0.0.0/8`) as reverse proxies:
    /// a login through one is counted (throttle) and recorded (sessions) under the address it
    /// forwarded in `X-Forwarded-For`, read from the right, past every trusted hop (at most 16).
    /// Where that walk ends on a trusted proxy (no header, or a hop that is not a bare IP address,
    /// such as `ip:port`), the client is unknown: throttled by account only, its session without
    /// an address, never under the proxy's address that every client would share. Without a
    /// trusted proxy the header is ignored: a client can write anything there.
    ///
    /// ```
    /// # use authtoken_http::*;
    /// # #[derive(Clone)] struct Account { id: u64 }
    /// # impl authtoken::User for Account { type Id = u64; fn id(&self) -> &u64 { &self.id } }
    /// # impl AuthUser for Account { fn is_active(&self) -> bool { true } }
    /// # struct Passwords;
    /// # impl Credentials<Account> for Passwords {
    /// #     async fn verify(&self, _: &str, _: &str) -> Result<Option<Account>, authtoken::BoxError> { Ok(None) }
    /// # }
    /// # fn build(auth: Authenticator<Account>) -> Result<(), ConfigError> {
    /// use std::net::Ipv4Addr;
    /// let routes = AuthRoutes::new(auth, "bearer", Passwords)?
    ///     .with_trusted_proxy(Ipv4Addr::LOCALHOST.into(), 32)
    ///     .with_address_precision(authtoken::AddressPrecision::Network);
    /// # Ok(()) }
    /// ```
    pub fn with_trusted_proxy(mut self, network: IpAddr, prefix: u8) -> Self {
        self.addressing.trust(network, prefix);
        self
    }

    /// Lets an API token whose scopes include `scope` list and end its user's sessions (the
    /// session routes). Without it only unscoped tokens (logins) may, unless the backend
    /// accepts scoped tokens everywhere: a token made for a CI job should not be able to sign
    /// its owner out of their browser.
    pub fn with_sessions_scope(mut self, scope: &str) -> Self {
        self.sessions_scope = Some(scope.to_owned());
        self
    }

    /// How much of the client's address a session keeps (default: all of it;
    /// [`AddressPrecision::Network`](authtoken::AddressPrecision::Network) keeps its /24 or
    /// /48). Throttling still counts the whole address.
    pub fn with_address_precision(mut self, precision: authtoken::AddressPrecision) -> Self {
        self.addressing.keep(precision);
        self
    }

    /// Counts login attempts in `throttle`, by account and by client address, before any
    /// password is checked.
    pub fn with_throttle(mut self, throttle: impl LoginThrottle + 'static) -> Self {
        self.throttle = Some(Arc::new(throttle));
        self
    }

    /// `POST /login` with a form body (`username`, `password`, as OAuth2's password flow and
    /// fastapi-users name them): the transport's login answer; 400 `LOGIN_BAD_CREDENTIALS` for a
    /// wrong password, an unknown or an inactive user; 403 for a cross-site request to a cookie
    /// backend, or `LOGIN_TOKEN_LIMIT_REACHED` when the user holds the most tokens a refusing
    /// per-user limit allows (`DatabaseStrategy::with_token_limit`); 413 for a body over
    /// [`MAX_LOGIN_BODY`]; 422 when a field is missing; 429 with
    /// `Retry-After` while the account or the address is locked; 500 when the check or the store
    /// fails.
    pub async fn login(&self, request: LoginRequest<'_>) -> AuthResponse {
        if !self.transport().allows(&Method::POST, request.headers) {
            return self.refuse(AuthRejection::CrossSite, request.headers);
        }
        if request.body.len() > MAX_LOGIN_BODY {
            return no_store(detail(StatusCode::PAYLOAD_TOO_LARGE, "LOGIN_BODY_TOO_LARGE"));
        }
        let (username, password) = match login_form(request.body) {
            Ok(fields) => fields,
            Err(missing) => {
                let message = format!("missing field `{missing}`");
                return no_store(detail(StatusCode::UNPROCESSABLE_ENTITY, &message));
            }
        };
        let address = self.addressing.resolve(request.client, request.headers);
        let mut keys = vec![ThrottleKey::account(&self.credentials.throttle_name(&username))];
        keys.extend(address.map(ThrottleKey::client));
        // Counted before the password is checked, atomically with the check that it may be:
        // a burst of attempts gets the free allowance checked, no more.
        if let Some(throttle) = &self.throttle {
            match throttle.reserve(&keys).await {
                Ok(Reservation::Granted) => {}
                Ok(Reservation::Locked(wait)) => return too_many_attempts(wait),
                Err(error) => return self.fail(authtoken::Error::Throttle(error)),
            }
        }
        let verified = self.credentials.verify(&username, &password).await;
        let user = match verified {
            Ok(Some(user)) if user.is_active() => user,
            Ok(_) => return no_store(detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS")),
            Err(error) => return self.fail(authtoken::Error::Credentials(error)),
        };
        if let Some(throttle) = &self.throttle
            && let Err(error) = throttle.succeeded(&keys).await
        {
            return self.fail(authtoken::Error::Throttle(error));
        }
        let client = self.addressing.client_info(address, request.headers);
        let issued = match self.backend().refresh() {
            Some(tokens) => tokens.login(&user, &client).await.map(|pair| self.pair_response(pair)),
            None => self
                .strategy()
                .write_for(&user, &client)
                .await
                .map(|token| self.transport().login_response(token)),
        };
        match issued {
            Ok(answer) => answer,
            // As django-rest-knox answers it: the login is refused, nothing failed.
            Err(authtoken::Error::TokenLimitReached) => {
                no_store(detail(StatusCode::FORBIDDEN, "LOGIN_TOKEN_LIMIT_REACHED"))
            }
            Err(error) => self.fail(error),
        }
    }

    /// `POST /logout`: revokes the token this backend's transport carries (with refresh tokens
    /// on, its whole family: every access and refresh token of that login); 401 without a valid
    /// one (or for an inactive user); 403 for a cross-site request to a cookie backend.
    pub async fn logout(&self, headers: &HeaderMap) -> AuthResponse {
        let found = match self.current(headers).await {
            Ok(found) => found,
            Err(rejection) => return self.refuse(rejection, headers),
        };
        let token = found.token.expose_secret();
        let revoked = match self.backend().refresh() {
            Some(tokens) => tokens.logout(token, &found.user).await,
            None => self.strategy().destroy(token, &found.user).await,
        };
        match revoked {
            Ok(_) => self.logout_response(),
            Err(error) => self.fail(error),
        }
    }

    /// `POST /logout-all`: revokes every token of the user ("log out everywhere"), and every
    /// refresh token family with refresh tokens on; 401 without a valid token; 403 for a
    /// cross-site request to a cookie backend.
    pub async fn logout_all(&self, headers: &HeaderMap) -> AuthResponse {
        let found = match self.current(headers).await {
            Ok(found) => found,
            Err(rejection) => return self.refuse(rejection, headers),
        };
        // Families first: a refresh token left alive would mint an access token again.
        if let Some(tokens) = self.backend().refresh()
            && let Err(error) = tokens.end_all(&found.user).await
        {
            return self.fail(error);
        }
        match self.strategy().destroy_all(&found.user).await {
            Ok(_) => self.logout_response(),
            Err(error) => self.fail(error),
        }
    }

    pub(crate) fn backend(&self) -> &crate::AuthBackend<U> {
        self.auth.backend(self.backend)
    }

    pub(crate) fn strategy(&self) -> &dyn authtoken::AuthStrategy<U> {
        self.auth.backend(self.backend).strategy()
    }

    pub(crate) fn transport(&self) -> &dyn crate::Transport {
        self.auth.backend(self.backend).transport()
    }

    /// The active user behind this backend's token, on a `POST` from this site.
    async fn current(&self, headers: &HeaderMap) -> Result<Authenticated<U>, AuthRejection> {
        self.current_on(&Method::POST, headers, None).await
    }

    /// The active user behind this backend's token, on a `method` request this transport allows
    /// (a cookie backend refuses a cross-site one); a scoped token only if it carries `scope`.
    pub(crate) async fn current_on(
        &self,
        method: &Method,
        headers: &HeaderMap,
        scope: Option<&str>,
    ) -> Result<Authenticated<U>, AuthRejection> {
        if !self.transport().allows(method, headers) {
            return Err(AuthRejection::CrossSite);
        }
        let found = self.auth.authenticate_with(self.backend, headers).await?;
        let found =
            found.filter(|found| found.user.is_active()).ok_or(AuthRejection::Unauthorized)?;
        // Logout routes declare no scope: an API token of a narrow scope may not use them.
        if scope.is_none_or(|scope| !found.scopes.iter().any(|held| held == scope)) {
            self.auth.check_unscoped_route(&found)?;
        }
        Ok(found)
    }

    /// A refusal with this backend's challenge only: its routes speak for its transport alone.
    pub(crate) fn refuse(&self, rejection: AuthRejection, headers: &HeaderMap) -> AuthResponse {
        let challenge = self.transport().challenge(headers);
        rejection.into_response(challenge.as_slice())
    }

    pub(crate) fn addressing(&self) -> &ClientAddressing {
        &self.addressing
    }

    pub(crate) fn fail(&self, error: authtoken::Error) -> AuthResponse {
        AuthRejection::Failed(error).into_response(&[])
    }
}

/// 429 with `Retry-After` in whole seconds, rounded up.
fn too_many_attempts(wait: std::time::Duration) -> AuthResponse {
    let mut response = no_store(detail(StatusCode::TOO_MANY_REQUESTS, "LOGIN_THROTTLED"));
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// The first value of `field` in a URL-encoded form.
pub(crate) fn form_field(body: &[u8], field: &str) -> Option<String> {
    form_urlencoded::parse(body).find(|(key, _)| key == field).map(|(_, value)| value.into_owned())
}

/// `username` and `password` from a URL-encoded form; the name of the first missing field.
fn login_form(body: &[u8]) -> Result<(String, String), &'static str> {
    let (mut username, mut password) = (None, None);
    for (key, value) in form_urlencoded::parse(body) {
        match &*key {
            "username" if username.is_none() => username = Some(value.into_owned()),
            "password" if password.is_none() => password = Some(value.into_owned()),
            _ => {}
        }
    }
    Ok((username.ok_or("username")?, password.ok_or("password")?))
}

#[cfg(test)]
mod tests {
    use super::login_form;

    #[test]
    fn the_login_form_names_the_missing_field() {
        assert_eq!(login_form(b"username=a%40b&password=p+w"), Ok(("a@b".into(), "p w".into())));
        assert_eq!(login_form(b"username=ada"), Err("password"));
        assert_eq!(login_form(b""), Err("username"));
        assert_eq!(login_form(b"\xff\xfe=1&password=x"), Err("username"));
    }
}
