// threads is a guest program in Rust's standard library: threads with a mutex and a
// channel, a sleep, a caught panic (unwinding through the frames), and file I/O.
//
// Usage: threads.rs.bin OUT
use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    let out = std::env::args().nth(1).expect("usage: threads OUT");
    let start = Instant::now();
    let counter = Arc::new(Mutex::new(0u64));
    let (tx, rx) = mpsc::channel();
    let mut handles = vec![];
    for i in 0..8u64 {
        let c = Arc::clone(&counter);
        let tx = tx.clone();
        handles.push(thread::spawn(move || {
            for _ in 0..10000 {
                *c.lock().unwrap() += 1;
            }
            thread::sleep(Duration::from_millis(5));
            tx.send(i * i).unwrap();
        }));
    }
    drop(tx);
    let mut squares: Vec<u64> = rx.iter().collect();
    for h in handles {
        h.join().unwrap();
    }
    squares.sort();
    println!("counter {} squares {:?}", *counter.lock().unwrap(), squares);

    let mut words = BTreeMap::new();
    for w in "the quick brown fox jumps over the lazy dog the end".split(' ') {
        *words.entry(w).or_insert(0) += 1;
    }
    println!("{:?}", words);

    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| {
        let v: Vec<i32> = Vec::new();
        v[3]
    });
    println!("caught panic: {}", caught.is_err());
    println!("slept at least 5ms: {}", start.elapsed() >= Duration::from_millis(5));
    std::fs::write(&out, "written by rust\n").unwrap();
    print!("{}", std::fs::read_to_string(&out).unwrap());
}
