package android.os;

/** android.os.CancellationSignal: only its type is needed. */
public final class CancellationSignal {
    public void cancel() {}
}
