package android.telephony;

/** android.telephony.CellInfo (abstract on Android): the serving cell's identity. */
public class CellInfo {
    private final int mcc;
    private final int mnc;
    private final int lac;
    private final int cid;

    public CellInfo(int mcc, int mnc, int lac, int cid) {
        this.mcc = mcc;
        this.mnc = mnc;
        this.lac = lac;
        this.cid = cid;
    }

    @Override
    public String toString() {
        return "CellInfoLte:{mMcc=" + mcc + " mMnc=" + mnc + " mTac=" + lac + " mCi=" + cid + "}";
    }
}
