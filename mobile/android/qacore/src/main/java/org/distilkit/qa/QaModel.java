package org.distilkit.qa;

/** One loaded QA model behind a runtime (LiteRT, ExecuTorch, or a fake in tests). */
public interface QaModel extends AutoCloseable {
    /**
     * Runs one window of exactly seqLen tokens (batch 1).
     * @param tokenTypeIds null when the model takes no token_type_ids (DistilBERT)
     * @return {startLogits, endLogits}, each of seqLen values
     */
    float[][] run(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) throws Exception;

    String runtime();

    String runtimeVersion();

    @Override
    void close();
}
