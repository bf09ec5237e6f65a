package android.database;

import java.util.ArrayList;
import java.util.List;

/** android.database.MatrixCursor: rows held in memory. */
public class MatrixCursor implements Cursor {
    private final String[] columns;
    private final List<String[]> rows = new ArrayList<>();
    private int position = -1;

    public MatrixCursor(String[] columnNames) {
        this.columns = columnNames;
    }

    public void addRow(Object[] values) {
        String[] row = new String[columns.length];
        for (int i = 0; i < row.length; i++) {
            row[i] = values[i] == null ? null : values[i].toString();
        }
        rows.add(row);
    }

    @Override
    public int getCount() {
        return rows.size();
    }

    @Override
    public boolean moveToNext() {
        return ++position < rows.size();
    }

    @Override
    public String getString(int column) {
        return rows.get(position)[column];
    }

    @Override
    public void close() {}

    @Override
    public String toString() {
        return "MatrixCursor{" + rows.size() + " rows}";
    }
}
