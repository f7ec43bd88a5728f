"""kpredict.tracking"""
