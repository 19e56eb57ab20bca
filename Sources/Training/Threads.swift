import Tensors

/// Sets the threads used by the element-wise kernels and by BLAS together.
public func configureThreads(_ count: Int) {
    Parallel.setThreadCount(count)
    BLAS.setThreadCount(count)
}
