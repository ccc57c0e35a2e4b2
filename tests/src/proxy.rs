//! A TCP proxy between a pool and its database server that can cut or stall every connection,
//! so tests can break the network without touching the shared server.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Pass,
    /// Closes every connection, and every new one at once: the server is unreachable.
    Cut,
    /// Forwards nothing, closes nothing: the server hangs.
    Stall,
}

/// A proxy on 127.0.0.1 forwarding to one upstream address; stops when dropped.
pub struct FaultProxy {
    /// Where clients connect instead of the server.
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    acceptor: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (a `host:port`), passing traffic.
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a local port");
        let addr = listener.local_addr().expect("the proxy's address");
        let (mode, _) = watch::channel(Mode::Pass);
        let modes = mode.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream.clone(), modes.subscribe()));
            }
        });
        Self { addr, mode, acceptor }
    }

    /// Switches what the proxy does, for open and new connections alike.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).expect("a database URL");
        url.set_host(Some("127.0.0.1")).expect("a host");
        url.set_port(Some(self.addr.port())).expect("a port");
        url.to_string()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.set(Mode::Cut);
    }
}

/// Waits while the mode is `Stall`; the mode it settled on.
async fn past_stall(modes: &mut watch::Receiver<Mode>) -> Mode {
    loop {
        let mode = *modes.borrow_and_update();
        if mode != Mode::Stall {
            return mode;
        }
        if modes.changed().await.is_err() {
            return Mode::Cut;
        }
    }
}

async fn serve(mut client: TcpStream, upstream: String, mut modes: watch::Receiver<Mode>) {
    if past_stall(&mut modes).await == Mode::Cut {
        return;
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
    let (mut to_client, mut to_server) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    loop {
        if past_stall(&mut modes).await == Mode::Cut {
            return; // dropping both sockets closes them
        }
        tokio::select! {
            read = client.read(&mut to_server) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if server.write_all(&to_server[..n]).await.is_err() { return },
            },
            read = server.read(&mut to_client) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if client.write_all(&to_client[..n]).await.is_err() { return },
            },
            changed = modes.changed() => if changed.is_err() { return },
        }
    }
}
