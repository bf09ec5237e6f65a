package android.telephony;

/** android.telephony.CellLocation (GSM flavour): location area and cell id. */
public class CellLocation {
    private final int lac;
    private final int cid;

    public CellLocation(int lac, int cid) {
        this.lac = lac;
        this.cid = cid;
    }

    @Override
    public String toString() {
        return "[" + lac + "," + cid + ",-1]";
    }
}
