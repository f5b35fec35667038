//! Listening sockets that several gateways on one machine can share.
//!
//! Every host of a lattice runs a gateway, and wadm gives them all the same config. On one
//! machine they bind the same address with SO_REUSEPORT, and the kernel spreads new connections
//! over the gateways that are alive: when one dies with its host, its clients reconnect to the
//! same address and land on a survivor, with nothing to reconfigure. Only processes of the same
//! user can join a port this way.

use std::{io, net::SocketAddr};

use tokio::net::{TcpListener, TcpSocket};

/// Pending connections the kernel holds per listener before refusing more.
const BACKLOG: u32 = 4096;

/// Binds `addr` so that other gateways of the same user may bind it too.
pub fn shared(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_gateways_share_one_address_and_the_survivor_takes_new_connections() {
        let first = shared("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let second = shared(addr).expect("a second gateway binds the same address");
        drop(first);
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = second.accept().await.unwrap();
        assert_eq!(accepted.peer_addr().unwrap(), client.local_addr().unwrap());
    }
}
