//! `POST /refresh`, black-box: the OAuth token response for a client that keeps its tokens, a
//! strict cookie of its own for a browser, rotation, reuse ending the login, and every way of
//! ending a session ending its refresh tokens too.

use chrono::TimeDelta;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, SET_COOKIE};
use serde_json::Value;

use super::{Account, Server, bearer};

/// What a bearer client holds after a login or a refresh.
struct Pair {
    access: String,
    refresh: String,
}

/// The refresh cookie's name on the spec's `cookie-refresh` backend (its access cookie is
/// `session`, `Secure`).
const REFRESH_COOKIE: &str = "__Secure-session-refresh";

impl Server {
    /// Logs `ada` in at `bearer-refresh`: the OAuth token response, checked.
    async fn refresh_login(&self) -> Pair {
        let response = self.login("bearer-refresh", "ada", "pw-ada").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        pair_of(response.json().await.expect("a JSON body"))
    }

    /// `POST /auth/bearer-refresh/refresh` with `form`.
    async fn refresh_with(&self, form: &[(&str, &str)]) -> reqwest::Response {
        let url = format!("{}/auth/bearer-refresh/refresh", self.base);
        self.http.post(url).form(form).send().await.expect("the server answers")
    }

    /// `POST /auth/cookie-refresh/refresh` carrying `cookies`, from this site.
    async fn cookie_refresh(&self, cookies: Option<String>, site: &str) -> reqwest::Response {
        let url = format!("{}/auth/cookie-refresh/refresh", self.base);
        let mut request = self.http.post(url).header("sec-fetch-site", site);
        if let Some(cookies) = cookies {
            request = request.header(COOKIE, cookies);
        }
        request.send().await.expect("the server answers")
    }
}

fn pair_of(body: Value) -> Pair {
    assert_eq!(body["token_type"], "bearer", "{body}");
    assert_eq!(body["expires_in"], 900, "{body}");
    let text = |field: &str| body[field].as_str().expect(field).to_owned();
    let pair = Pair { access: text("access_token"), refresh: text("refresh_token") };
    assert_eq!(pair.refresh.len(), 43);
    assert_ne!(pair.access, pair.refresh);
    pair
}

async fn refused(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["detail"], "REFRESH_TOKEN_INVALID");
}

/// The `Set-Cookie` values of `response`, by cookie name.
fn set_cookies(response: &reqwest::Response) -> Vec<(String, String)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| {
            let text = value.to_str().expect("ASCII").to_owned();
            let name = text.split('=').next().unwrap_or_default().to_owned();
            (name, text)
        })
        .collect()
}

fn cookie_value(set: &str) -> String {
    let first = set.split(';').next().unwrap_or_default();
    first.split_once('=').map(|(_, value)| value.to_owned()).unwrap_or_default()
}

/// A login answers the OAuth token response; a refresh spends the refresh token for a new pair;
/// the spent token presented again at once is refused (a retry) and ends nothing; presented
/// after the grace window it is a theft: the whole login ends, its newest access and refresh
/// tokens included.
pub async fn bearer_refresh_rotates_and_reuse_ends_the_login(s: &Server) {
    let login = s.refresh_login().await;
    assert_eq!(s.get("/me", bearer(&login.access)).await, (StatusCode::OK, "ada".to_owned()));
    let response = s.refresh_with(&[("refresh_token", &login.refresh)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let next = pair_of(response.json().await.unwrap());
    assert_eq!(s.get("/me", bearer(&next.access)).await, (StatusCode::OK, "ada".to_owned()));
    let grant = [("grant_type", "refresh_token"), ("refresh_token", next.refresh.as_str())];
    let third = pair_of(s.refresh_with(&grant).await.json().await.unwrap());

    refused(s.refresh_with(&[("refresh_token", &login.refresh)]).await).await;
    assert_eq!(s.get("/me", bearer(&third.access)).await.0, StatusCode::OK, "a retry ends nothing");
    s.clock.advance(TimeDelta::seconds(6));
    refused(s.refresh_with(&[("refresh_token", &login.refresh)]).await).await;
    for access in [&login.access, &next.access, &third.access] {
        assert_eq!(s.get("/me", bearer(access)).await.0, StatusCode::UNAUTHORIZED);
    }
    refused(s.refresh_with(&[("refresh_token", &third.refresh)]).await).await;
}

/// No token, garbage, an access token in its place: 401 alike; another grant type: 400; a
/// backend without refresh tokens: 404, and its login answer has no refresh token.
pub async fn refresh_refuses_garbage_wrong_grants_and_plain_backends(s: &Server) {
    let login = s.refresh_login().await;
    refused(s.refresh_with(&[]).await).await;
    refused(s.refresh_with(&[("refresh_token", "x")]).await).await;
    refused(s.refresh_with(&[("refresh_token", &"A".repeat(43))]).await).await;
    refused(s.refresh_with(&[("refresh_token", &login.access)]).await).await;
    let password = [("grant_type", "password"), ("refresh_token", login.refresh.as_str())];
    assert_eq!(s.refresh_with(&password).await.status(), StatusCode::BAD_REQUEST);
    let big = "r".repeat(17 * 1024);
    let response = s.refresh_with(&[("refresh_token", big.as_str())]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // None of that spent the token.
    let response = s.refresh_with(&[("refresh_token", &login.refresh)]).await;
    assert_eq!(response.status(), StatusCode::OK);

    let plain = s.login("bearer", "ada", "pw-ada").await.json::<Value>().await.unwrap();
    assert!(plain.get("refresh_token").is_none() && plain.get("expires_in").is_none(), "{plain}");
    let url = format!("{}/auth/bearer/refresh", s.base);
    let response = s.http.post(url).form(&[("refresh_token", "x")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// A browser's refresh token travels in a cookie of its own: `HttpOnly`, `Secure`,
/// `SameSite=Strict`, its `Path` the refresh route. Refreshing sets both cookies again; a
/// cross-site refresh is refused; logout drops both cookies and ends the login.
pub async fn cookie_refresh_travels_in_a_strict_cookie_of_its_own(s: &Server) {
    let response = s.login("cookie-refresh", "ada", "pw-ada").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let set = set_cookies(&response);
    let (_, access) = set.iter().find(|(name, _)| name == "session").expect("the access cookie");
    let (_, refresh) =
        set.iter().find(|(name, _)| name == REFRESH_COOKIE).expect("the refresh cookie");
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/auth/cookie-refresh/refresh",
        "Max-Age=3600",
    ] {
        assert!(refresh.split("; ").any(|a| a == attribute), "{attribute} missing from {refresh}");
    }
    let (access, refresh) = (cookie_value(access), cookie_value(refresh));
    let session = Some((COOKIE, format!("session={access}")));
    assert_eq!(s.get("/me", session).await, (StatusCode::OK, "ada".to_owned()));

    let carried = format!("theme=dark; {REFRESH_COOKIE}={refresh}");
    let cross = s.cookie_refresh(Some(carried.clone()), "cross-site").await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let rotated = s.cookie_refresh(Some(carried.clone()), "same-origin").await;
    assert_eq!(rotated.status(), StatusCode::NO_CONTENT);
    let set = set_cookies(&rotated);
    assert_eq!(set.len(), 2, "{set:?}");
    let new_access = cookie_value(&set.iter().find(|(n, _)| n == "session").unwrap().1);
    let new_refresh = cookie_value(&set.iter().find(|(n, _)| n == REFRESH_COOKIE).unwrap().1);
    assert_ne!(new_refresh, refresh);
    let session = Some((COOKIE, format!("session={new_access}")));
    assert_eq!(s.get("/me", session).await, (StatusCode::OK, "ada".to_owned()));

    // Without the cookie: refused, and the answer drops the cookie.
    let none = s.cookie_refresh(None, "same-origin").await;
    let dropped = set_cookies(&none);
    assert!(dropped.iter().any(|(n, v)| n == REFRESH_COOKIE && v.contains("Max-Age=0")));
    refused(none).await;

    let logout = s
        .http
        .post(format!("{}/auth/cookie-refresh/logout", s.base))
        .header(COOKIE, format!("session={new_access}"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let cleared = set_cookies(&logout);
    for name in ["session", REFRESH_COOKIE] {
        assert!(cleared.iter().any(|(n, v)| n == name && v.contains("Max-Age=0")), "{cleared:?}");
    }
    let after = s.cookie_refresh(Some(format!("{REFRESH_COOKIE}={new_refresh}")), "same-origin");
    refused(after.await).await;
}

/// Ending a session from the sessions page, "log out the others" and "log out everywhere" end
/// the refresh tokens of what they end: none of them mints an access token afterwards.
pub async fn ending_sessions_and_logging_out_everywhere_end_refresh_families(s: &Server) {
    let laptop = s.refresh_login().await;
    let phone = s.refresh_login().await;
    let tablet = s.refresh_login().await;
    let listed = s.get("/auth/bearer-refresh/sessions", bearer(&laptop.access)).await;
    assert_eq!(listed.0, StatusCode::OK, "{}", listed.1);
    let sessions: Vec<Value> = serde_json::from_str(&listed.1).unwrap();
    assert_eq!(sessions.len(), 3);
    // One of the two other sessions is ended; which one shows in whose refresh token dies.
    let others: Vec<&str> = sessions
        .iter()
        .filter(|session| session["current"] == false)
        .map(|session| session["id"].as_str().unwrap())
        .collect();
    let url = |id: &str| format!("{}/auth/bearer-refresh/sessions/{id}", s.base);
    let ended = s
        .http
        .delete(url(others[0]))
        .header(AUTHORIZATION, format!("Bearer {}", laptop.access))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let mut survivors = Vec::new();
    for pair in [&phone, &tablet] {
        let response = s.refresh_with(&[("refresh_token", &pair.refresh)]).await;
        if response.status() == StatusCode::OK {
            survivors.push(pair_of(response.json().await.unwrap()));
        } else {
            refused(response).await;
            assert_eq!(s.get("/me", bearer(&pair.access)).await.0, StatusCode::UNAUTHORIZED);
        }
    }
    assert_eq!(survivors.len(), 1, "exactly the ended session's refresh token is refused");

    let others = s.post("/auth/bearer-refresh/logout-others", bearer(&laptop.access)).await;
    assert_eq!(others.status(), StatusCode::NO_CONTENT);
    let survivor = survivors.pop().unwrap();
    refused(s.refresh_with(&[("refresh_token", &survivor.refresh)]).await).await;
    let laptop =
        pair_of(s.refresh_with(&[("refresh_token", &laptop.refresh)]).await.json().await.unwrap());

    let everywhere = s.post("/auth/bearer-refresh/logout-all", bearer(&laptop.access)).await;
    assert_eq!(everywhere.status(), StatusCode::NO_CONTENT);
    refused(s.refresh_with(&[("refresh_token", &laptop.refresh)]).await).await;
    assert_eq!(s.get("/me", bearer(&laptop.access)).await.0, StatusCode::UNAUTHORIZED);
}

/// A user deactivated after logging in cannot refresh: refused, and the login ends.
pub async fn a_deactivated_user_cannot_refresh(s: &Server) {
    let login = s.refresh_login().await;
    let ada = super::ACCOUNTS[0].clone();
    s.users.insert(Account { active: false, ..ada.clone() });
    refused(s.refresh_with(&[("refresh_token", &login.refresh)]).await).await;
    s.users.insert(ada);
    // Active again, the old login stays ended: its token was spent on the refused refresh and
    // its family ended with it.
    s.clock.advance(TimeDelta::seconds(6));
    refused(s.refresh_with(&[("refresh_token", &login.refresh)]).await).await;
    assert_eq!(s.get("/me", bearer(&login.access)).await.0, StatusCode::UNAUTHORIZED);
}
