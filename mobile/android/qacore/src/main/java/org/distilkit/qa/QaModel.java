package org.distilkit.qa;

/** One loaded QA model behind a runtime (LiteRT, ExecuTorch, or a fake in tests). */
public interface QaModel extends AutoCloseable {
    /**
     * Runs one window of exactly seqLen tokens (batch 1).
     * @param tokenTypeIds null when the model takes no token_type_ids (DistilBERT)
     * @return {startLogits, endLogits}, each of seqLen values
     */
    float[][] run(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) throws Exception;

    /**
     * run()'s first half: one window copied into the runtime's input tensors, handed to forward(). The
     * benchmark times it apart from the model call; a model that does not split keeps these defaults.
     */
    default Object prepare(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) throws Exception {
        return new int[][]{inputIds, attentionMask, tokenTypeIds};
    }

    /** run()'s second half, the benchmark's timed region: the model call on prepared inputs, {start, end} logits. */
    default float[][] forward(Object prepared) throws Exception {
        int[][] in = (int[][]) prepared;
        return run(in[0], in[1], in[2]);
    }

    String runtime();

    String runtimeVersion();

    @Override
    void close();
}
