package org.distilkit.qa;

/** A problem the user can fix (missing model file, mismatched sidecar, ...): its message is shown as is. */
public class QaException extends RuntimeException {
    public QaException(String message) { super(message); }

    public QaException(String message, Throwable cause) { super(message, cause); }
}
