//! object_store is async; a [`ggen_marketplace_core::blobs::BlobStore`] is
//! not. Requests run on one small runtime of this crate's own and callers
//! wait on a channel, never on `block_on`, so the same code works from a
//! plain thread, a CLI, and a server's blocking pool inside another runtime
//! (where `block_on` would panic).

use std::future::Future;
use std::io::Read;
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, sync_channel};

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};

/// The runtime every request of every store in this process runs on: one
/// worker is plenty for blocking callers that wait on each request.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ggen-s3")
            .enable_all()
            .build()
            .expect("the object store's runtime starts")
    })
}

/// Runs `fut` on the runtime and waits for its output.
pub(crate) fn wait<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    let (tx, rx) = sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().expect("the object store's runtime is running")
}

/// A body streamed by the runtime into a blocking reader, a few chunks
/// ahead: memory stays bounded whatever the archive's size.
pub(crate) struct StreamReader {
    chunks: Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl StreamReader {
    pub(crate) fn new(mut stream: BoxStream<'static, std::io::Result<Bytes>>) -> Self {
        let (tx, rx) = sync_channel(4);
        runtime().spawn(async move {
            while let Some(chunk) = stream.next().await {
                let failed = chunk.is_err();
                // The reader was dropped: stop fetching.
                if tx.send(chunk).is_err() || failed {
                    break;
                }
            }
        });
        Self {
            chunks: rx,
            current: Bytes::new(),
        }
    }
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.recv() {
                Ok(chunk) => self.current = chunk?,
                // The stream ended.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
