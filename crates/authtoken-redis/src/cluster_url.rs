//! `redis+cluster://` and `rediss+cluster://` URLs: one scheme, one set of credentials and
//! parameters, several nodes. Every connection to the cluster (the store's, and the revocation
//! channel's subscription to each primary) is made with all of them, never with a bare
//! `redis://host:port` that would drop the password or the TLS.

/// A cluster URL taken apart.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClusterUrl {
    /// `redis` or `rediss`.
    scheme: &'static str,
    /// `user:password@` or empty (kept percent-encoded, as written).
    credentials: String,
    /// `host:port` of each node given.
    nodes: Vec<String>,
    /// `?…` or empty.
    query: String,
}

impl ClusterUrl {
    /// `redis+cluster://[user:password@]host:port,host:port[/db][?params]`, or
    /// `rediss+cluster://…` for TLS; `None` for any other URL.
    pub(crate) fn parse(url: &str) -> Option<Self> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("redis+cluster://") {
            ("redis", rest)
        } else {
            ("rediss", url.strip_prefix("rediss+cluster://")?)
        };
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, format!("?{query}")),
            None => (rest, String::new()),
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, hosts) = match rest.rsplit_once('@') {
            Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
            None => (String::new(), rest),
        };
        let nodes = hosts.split(',').filter(|n| !n.is_empty()).map(str::to_owned).collect();
        Some(Self { scheme, credentials, nodes, query })
    }

    /// The URL of each node given, with the scheme, credentials and parameters.
    pub(crate) fn node_urls(&self) -> Vec<String> {
        self.nodes.iter().map(|node| self.url_of(node)).collect()
    }

    /// The URL of the node at `address` (`host:port`, as `CLUSTER NODES` lists it).
    pub(crate) fn url_of(&self, address: &str) -> String {
        format!("{}://{}{address}{}", self.scheme, self.credentials, self.query)
    }
}

// Never printed whole: the credentials are a secret.
impl std::fmt::Debug for ClusterUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterUrl")
            .field("scheme", &self.scheme)
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::ClusterUrl;

    #[test]
    fn every_node_keeps_the_scheme_the_credentials_and_the_parameters() {
        let url = ClusterUrl::parse("rediss+cluster://app:s%40cret@a:7000,b:7001/?protocol=resp3")
            .unwrap();
        assert_eq!(
            url.node_urls(),
            [
                "rediss://app:s%40cret@a:7000?protocol=resp3",
                "rediss://app:s%40cret@b:7001?protocol=resp3"
            ]
        );
        assert_eq!(
            url.url_of("10.0.0.9:7002"),
            "rediss://app:s%40cret@10.0.0.9:7002?protocol=resp3"
        );
        assert!(!format!("{url:?}").contains("cret"));
        let plain = ClusterUrl::parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001").unwrap();
        assert_eq!(plain.url_of("127.0.0.1:7002"), "redis://127.0.0.1:7002");
        assert_eq!(ClusterUrl::parse("redis://127.0.0.1:6379"), None);
    }
}
