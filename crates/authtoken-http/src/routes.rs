//! The logic of `POST /login`, `POST /logout` and `POST /logout-all` for one backend, free of any
//! web framework: bytes and headers in, an [`AuthResponse`] out.

use std::future::Future;

use authtoken::BoxError;
use http::{HeaderMap, StatusCode};

use crate::response::{AuthResponse, detail};
use crate::{AuthRejection, AuthUser, Authenticated, Authenticator, ConfigError};

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
}

/// Login and logout for one backend of an [`Authenticator`].
pub struct AuthRoutes<U, C> {
    auth: Authenticator<U>,
    backend: usize,
    credentials: C,
}

impl<U: AuthUser, C: Credentials<U>> AuthRoutes<U, C> {
    /// The routes of the backend called `backend`.
    pub fn new(auth: Authenticator<U>, backend: &str, credentials: C) -> Result<Self, ConfigError> {
        let backend = auth.index_of(backend)?;
        Ok(Self { auth, backend, credentials })
    }

    /// `POST /login` with a form body (`username`, `password`, as OAuth2's password flow and
    /// fastapi-users name them): the transport's login answer; 400 `LOGIN_BAD_CREDENTIALS` for a
    /// wrong password, an unknown or an inactive user; 422 when a field is missing; 500 when the
    /// check or the store fails.
    pub async fn login(&self, form: &[u8]) -> AuthResponse {
        let (username, password) = match login_form(form) {
            Ok(fields) => fields,
            Err(missing) => {
                let message = format!("missing field `{missing}`");
                return detail(StatusCode::UNPROCESSABLE_ENTITY, &message);
            }
        };
        let user = match self.credentials.verify(&username, &password).await {
            Ok(Some(user)) if user.is_active() => user,
            Ok(_) => return detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS"),
            Err(error) => return self.refuse(authtoken::Error::UserLoader(error).into()),
        };
        let backend = self.auth.backend(self.backend);
        match backend.strategy().write(&user).await {
            Ok(token) => backend.transport().login_response(token),
            Err(error) => self.refuse(error.into()),
        }
    }

    /// `POST /logout`: revokes the token this backend's transport carries; 401 without a valid
    /// one (or for an inactive user).
    pub async fn logout(&self, headers: &HeaderMap) -> AuthResponse {
        match self.current(headers).await {
            Ok(found) => match self.strategy().destroy(&found.token, &found.user).await {
                Ok(_) => self.auth.backend(self.backend).transport().logout_response(),
                Err(error) => self.refuse(error.into()),
            },
            Err(rejection) => self.refuse(rejection),
        }
    }

    /// `POST /logout-all`: revokes every token of the user ("log out everywhere"); 401 without a
    /// valid token.
    pub async fn logout_all(&self, headers: &HeaderMap) -> AuthResponse {
        match self.current(headers).await {
            Ok(found) => match self.strategy().destroy_all(&found.user).await {
                Ok(_) => self.auth.backend(self.backend).transport().logout_response(),
                Err(error) => self.refuse(error.into()),
            },
            Err(rejection) => self.refuse(rejection),
        }
    }

    fn strategy(&self) -> &dyn authtoken::AuthStrategy<U> {
        self.auth.backend(self.backend).strategy()
    }

    /// The active user behind this backend's token.
    async fn current(&self, headers: &HeaderMap) -> Result<Authenticated<U>, AuthRejection> {
        let found = self.auth.authenticate_with(self.backend, headers).await?;
        found.filter(|found| found.user.is_active()).ok_or(AuthRejection::Unauthorized)
    }

    /// A refusal with this backend's challenge only: its routes speak for its transport alone.
    fn refuse(&self, rejection: AuthRejection) -> AuthResponse {
        let challenge = self.auth.backend(self.backend).transport().challenge();
        rejection.into_response(challenge.as_slice())
    }
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
