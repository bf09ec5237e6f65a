package android.os;

/** android.os.Looper: only its type is needed (requestSingleUpdate takes one). */
public final class Looper {
    private static final Looper MAIN = new Looper();

    private Looper() {}

    public static Looper getMainLooper() {
        return MAIN;
    }
}
