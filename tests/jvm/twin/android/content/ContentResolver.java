package android.content;

import android.database.Cursor;
import android.database.MatrixCursor;
import android.net.Uri;
import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.content.ContentResolver: the contacts provider answers with the planted contact. */
public class ContentResolver {
    public final Cursor query(Uri uri, String[] projection, String selection, String[] selectionArgs, String sortOrder) {
        Originals.called("ContentResolver.query", String.valueOf(uri), projection, selection, selectionArgs, sortOrder);
        MatrixCursor cursor = new MatrixCursor(new String[] {"display_name", "data1"});
        if ("com.android.contacts".equals(uri.getAuthority())) {
            cursor.addRow(new String[] {Canaries.get("contact"), Canaries.get("phone")});
        }
        return cursor;
    }
}
