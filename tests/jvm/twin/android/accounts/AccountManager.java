package android.accounts;

import privlab.twin.Canaries;
import privlab.twin.Originals;

/** android.accounts.AccountManager: the device's accounts (one Google account, the planted e-mail). */
public class AccountManager {
    private static Account[] accounts() {
        return new Account[] {new Account(Canaries.get("email"), "com.google")};
    }

    public Account[] getAccounts() {
        Originals.called("AccountManager.getAccounts");
        return accounts();
    }

    public Account[] getAccountsByType(String type) {
        Originals.called("AccountManager.getAccountsByType", type);
        return "com.google".equals(type) || type == null ? accounts() : new Account[0];
    }

    public Account[] getAccountsByTypeAndFeatures(String type, String[] features) {
        Originals.called("AccountManager.getAccountsByTypeAndFeatures", type, features);
        return accounts();
    }

    public Account[] getAccountsAsUser(int userId) {
        Originals.called("AccountManager.getAccountsAsUser", userId);
        return accounts();
    }
}
