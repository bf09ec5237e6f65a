package android.database;

/** android.database.Cursor, the part apps use to walk rows. */
public interface Cursor extends java.io.Closeable {
    int getCount();

    boolean moveToNext();

    String getString(int column);

    @Override
    void close();
}
